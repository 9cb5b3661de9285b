import { expect } from 'chai';
import { type Receiver, eventNumbers, startReceiver, subFixture, useSubscriptionServer } from '../subscriptions/support.js';
import { appointment, loadAvailability, slot } from './support.js';

const TOPIC = 'http://neighbourhood-hub.example/fhir/SubscriptionTopic/slot-available';

describe('slot-available topic: a member waits for a free slot instead of polling', function () {
  this.timeout(60_000);
  const { server, receiver } = useSubscriptionServer('pglite', 'suite');
  before(async () => loadAvailability(server()));

  it('notifies when a slot of the watched schedule is freed by a cancellation, and not when it is booked', async () => {
    const sub = subFixture('backport-appointment-id-only.json');
    sub.criteria = TOPIC;
    sub._criteria.extension[0].valueString = 'Slot?schedule=Schedule/sched-dental';
    sub.channel.endpoint = receiver().url;
    const created = await server().fhir('POST', 'Subscription', { body: sub });
    expect(created.status, created.text).to.equal(201);
    await receiver().waitFor((r) => r.length > 0);

    const target = await slot(server(), 'dental-1300');
    const booked = await server().fhir('POST', 'Appointment', { body: appointment('booked', 'sched-ben', [target]) });
    expect(booked.status).to.equal(201);
    // A slot of another schedule freed: not this subscription's.
    const gp = await slot(server(), 'gp-1000');
    const other = await server().fhir('POST', 'Appointment', { body: appointment('booked', 'sched-ada', [gp]) });
    await server().fhir('PUT', `Appointment/${other.body.id}`, { body: { ...other.body, status: 'cancelled' } });
    await server().fhir('PUT', `Appointment/${booked.body.id}`, { body: { ...booked.body, status: 'cancelled' } });
    await receiver().waitFor(() => receiver().events().length >= 1);
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const events = receiver().events();
    expect(events.flatMap(eventNumbers)).to.deep.equal([1]);
    expect(JSON.stringify(events[0].json)).to.contain('Slot/dental-1300');
  });

  it('a lapsed hold, expired by the worker, makes its slot available again (and notifies)', async () => {
    const target = await slot(server(), 'dental-0800');
    const held = await server().fhir('POST', 'Appointment/$hold', { body: { resourceType: 'Parameters', parameter: [{ name: 'appointment-resource', resource: appointment('proposed', 'sched-ada', [target]) }] } });
    expect(held.status).to.equal(200);
    await server().running.services.db.query(`UPDATE slot_claim SET expires_at = now() - interval '1 second' WHERE appointment_id = $1`, [held.body.entry[0].resource.id]);
    await receiver().waitFor(() => receiver().events().some((e) => JSON.stringify(e.json).includes('Slot/dental-0800')), 20_000);
    expect((await server().fhir('GET', `Appointment/${held.body.entry[0].resource.id}`)).body.status).to.equal('cancelled');
  });

  it("filters by organisation and by location through the slot's schedule: each subscriber hears of its own organisation's or site's freed slots only", async () => {
    const byOrganisation = await startReceiver();
    const bySite = await startReceiver();
    try {
      const subscribe = async (criteria: string, receiver: Receiver): Promise<void> => {
        const sub = subFixture('backport-appointment-id-only.json');
        sub.criteria = TOPIC;
        sub._criteria.extension[0].valueString = criteria;
        sub.channel.endpoint = receiver.url;
        const created = await server().fhir('POST', 'Subscription', { body: sub });
        expect(created.status, created.text).to.equal(201);
        await receiver.waitFor((r) => r.length > 0); // the handshake
      };
      // Bridge Dental's schedule is its own site (Location managed by it); Riverside Surgery's is Dr Osei's role at the Riverside hub.
      await subscribe('Slot?organisation=Organization/sched-bridge-dental', byOrganisation);
      await subscribe('Slot?location=Location/sched-riverside-hub', bySite);
      for (const id of ['dental-1800', 'gp-0915']) {
        const booked = await server().fhir('POST', 'Appointment', { body: appointment('booked', 'sched-ben', [await slot(server(), id)]) });
        expect(booked.status, JSON.stringify(booked.body)).to.equal(201);
        expect((await server().fhir('PUT', `Appointment/${booked.body.id}`, { body: { ...booked.body, status: 'cancelled' } })).status).to.equal(200);
      }
      await byOrganisation.waitFor(() => byOrganisation.events().length >= 1);
      await bySite.waitFor(() => bySite.events().length >= 1);
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      const heard = (receiver: Receiver): string => receiver.events().map((e) => JSON.stringify(e.json)).join('\n');
      expect(heard(byOrganisation)).to.contain('Slot/dental-1800').and.not.to.contain('Slot/gp-0915');
      expect(heard(bySite)).to.contain('Slot/gp-0915').and.not.to.contain('Slot/dental-1800');
    } finally {
      await byOrganisation.close();
      await bySite.close();
    }
  });
});

import { createHmac } from 'node:crypto';
import { expect } from 'chai';
import type { TestServer } from '../support/server.js';
import { eventNumbers, eventually, notificationType, statusParam, subFixture, useSubscriptionServer, type Receiver } from './support.js';

/** Creates a subscription pointing at the receiver and waits until the server has activated it. */
async function subscribe(server: TestServer, fixture: string, receiver: Receiver, edit: (s: any) => void = () => undefined): Promise<string> {
  const sub = subFixture(fixture);
  sub.channel.endpoint = receiver.url;
  edit(sub);
  const res = await server.fhir('POST', 'Subscription', { body: sub });
  expect(res.status, res.text).to.equal(201);
  expect(res.body.status, 'a new subscription starts requested').to.equal('requested');
  await eventually(() => server.fhir('GET', `Subscription/${res.body.id}`), (r) => r.body.status === 'active');
  return res.body.id as string;
}

describe('Subscription delivery (rest-hook, real Redis, loopback receivers)', function () {
  this.timeout(60_000);
  const { server, receiver } = useSubscriptionServer('postgres', 'test');

  it('R4 criteria without payload: an empty POST (ping) with channel.header sent as headers', async () => {
    await subscribe(server(), 'r4-careteam-criteria-ping.json', receiver());
    const created = await server().fhir('POST', 'CareTeam', { body: subFixture('careteam-for-ada.json') });
    expect(created.status).to.equal(201);
    await receiver().waitFor((r) => r.length >= 1);
    expect(receiver().received[0].body).to.equal('');
    expect(receiver().received[0].headers.authorization).to.equal('Bearer practice-token');
    expect(receiver().received[0].headers['x-notification-id']).to.be.a('string');
  });

  it('R4 criteria with payload application/fhir+json: an Update of the resource with the endpoint as the service base (PUT [endpoint]/[type]/[id])', async () => {
    await subscribe(server(), 'r4-appointment-criteria-payload.json', receiver());
    const created = await server().fhir('POST', 'Appointment', { body: subFixture('appointment-booked-for-ada.json') });
    await receiver().waitFor((r) => r.length >= 1);
    const n = receiver().received[0];
    expect(n.method).to.equal('PUT');
    expect(n.path).to.equal(`/hook/Appointment/${created.body.id}`);
    expect(n.headers['content-type']).to.equal('application/fhir+json');
    expect(n.json).to.include({ resourceType: 'Appointment', id: created.body.id });
  });

  it('R4 criteria without payload: an empty POST to the endpoint itself', async () => {
    await subscribe(server(), 'r4-appointment-criteria-payload.json', receiver(), (s) => delete s.channel.payload);
    await server().fhir('POST', 'Appointment', { body: subFixture('appointment-booked-for-ada.json') });
    await receiver().waitFor((r) => r.length >= 1);
    expect(receiver().received[0].method).to.equal('POST');
    expect(receiver().received[0].path).to.equal('/hook');
    expect(receiver().received[0].body).to.equal('');
  });

  it('backport: handshake first, then an id-only history Bundle whose first entry is the SubscriptionStatus, signed with HMAC-SHA256', async () => {
    const id = await subscribe(server(), 'backport-appointment-id-only.json', receiver());
    expect(notificationType(receiver().received[0])).to.equal('handshake');
    expect(statusParam(receiver().received[0].json, 'status').valueCode).to.equal('requested');
    const created = await server().fhir('POST', 'Appointment', { body: subFixture('appointment-booked-for-ada.json') });
    await receiver().waitFor(() => receiver().events().length >= 1);
    const n = receiver().events()[0];
    expect(n.method, 'Backport notifications are POSTed to the endpoint').to.equal('POST');
    expect(n.path).to.equal('/hook');
    expect(n.json.type).to.equal('history');
    expect(n.json.entry[0].resource.resourceType).to.equal('Parameters');
    expect(statusParam(n.json, 'subscription').valueReference.reference).to.equal(`${server().base}/Subscription/${id}`);
    expect(statusParam(n.json, 'type').valueCode).to.equal('event-notification');
    expect(statusParam(n.json, 'events-since-subscription-start').valueString).to.equal('1');
    expect(eventNumbers(n)).to.deep.equal([1]);
    const event = statusParam(n.json, 'notification-event');
    expect(event.part.find((p: { name: string }) => p.name === 'focus').valueReference.reference).to.equal(`${server().base}/Appointment/${created.body.id}`);
    expect(n.json.entry[1].fullUrl).to.equal(`${server().base}/Appointment/${created.body.id}`);
    expect(n.json.entry[1].resource, 'id-only carries no resource').to.equal(undefined);
    expect(n.headers['x-receiver-key']).to.equal('abc123');
    const expected = `sha256=${createHmac('sha256', 'receiver-shared-secret').update(n.body).digest('hex')}`;
    expect(n.headers['x-hub-signature-256']).to.equal(expected);
  });

  it('backport: full-resource for the pharmacy named by ODS code, and nothing for another pharmacy', async () => {
    await subscribe(server(), 'backport-prescription-for-pharmacy.json', receiver());
    const other = subFixture('medicationrequest-issued-for-FA565.json');
    other.dispenseRequest.performer.identifier.value = 'FX999';
    await server().fhir('POST', 'MedicationRequest', { body: other });
    const mine = await server().fhir('POST', 'MedicationRequest', { body: subFixture('medicationrequest-issued-for-FA565.json') });
    await receiver().waitFor(() => receiver().events().length >= 1);
    await new Promise((r) => setTimeout(r, 300));
    expect(receiver().events()).to.have.length(1);
    const n = receiver().events()[0];
    expect(n.json.entry[1].resource).to.deep.include({ resourceType: 'MedicationRequest', id: mine.body.id });
    expect(n.json.entry[1].request).to.deep.equal({ method: 'POST', url: 'MedicationRequest' });
  });
});

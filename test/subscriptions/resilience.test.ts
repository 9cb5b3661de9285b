import { expect } from 'chai';
import type { CareTeam } from '@medplum/fhirtypes';
import { startDisposableRedis, type DisposableRedis } from '../../scripts/disposable-redis.js';
import type { TestServer } from '../support/server.js';
import { eventNumbers, eventually, startReceiver, startSubscriptionServer, subFixture, type Receiver } from './support.js';

async function subscribe(server: TestServer, fixture: string, endpoint: string, edit: (s: any) => void = () => undefined): Promise<string> {
  const sub = subFixture(fixture);
  sub.channel.endpoint = endpoint;
  edit(sub);
  const res = await server.fhir('POST', 'Subscription', { body: sub });
  expect(res.status, res.text).to.equal(201);
  await eventually(() => server.fhir('GET', `Subscription/${res.body.id}`), (r) => r.body.status === 'active');
  return res.body.id as string;
}

const careTeam = (patient: string, n: number): CareTeam => ({ ...subFixture('careteam-for-ada.json'), subject: { reference: `Patient/${patient}` }, name: `team ${n}` });
const topicFor = (patient: string) => (s: any) => {
  s._criteria.extension[0].valueString = `Appointment?patient=Patient/${patient}`;
};

describe('Subscriptions never lose a notification', function () {
  this.timeout(120_000);

  describe('Redis stopped while 100 writes commit, then started', () => {
    let redis: DisposableRedis;
    let server: TestServer;
    let receiver: Receiver;
    before(async () => {
      redis = await startDisposableRedis();
      server = await startSubscriptionServer('postgres', { redisUrl: redis.url });
      receiver = await startReceiver();
    });
    after(async () => {
      await server?.stop();
      await receiver?.close();
      redis?.stop();
    });

    it('all 100 notifications arrive, in order, with event numbers 1..100', async () => {
      await subscribe(server, 'backport-appointment-id-only.json', receiver.url, topicFor('patient-outage'));
      await redis.kill();
      const appointment = subFixture('appointment-booked-for-ada.json');
      appointment.participant[0].actor.reference = 'Patient/patient-outage';
      for (let i = 0; i < 100; i++) {
        const res = await server.fhir('POST', 'Appointment', { body: { ...appointment, description: `visit ${i}` } });
        expect(res.status, 'writes commit while Redis is down').to.equal(201);
      }
      const [{ pending }] = await server.running.services.db.query<{ pending: number }>('SELECT count(*)::int AS pending FROM change_log WHERE relayed_at IS NULL');
      expect(pending).to.be.at.least(100);
      await redis.start();
      await receiver.waitFor(() => receiver.events().flatMap(eventNumbers).length >= 100, 60_000);
      const numbers = receiver.events().flatMap(eventNumbers);
      expect(numbers).to.deep.equal(Array.from({ length: 100 }, (_, i) => i + 1));
      const descriptions = await Promise.all(
        receiver.events().map(async (n) => (await server.fhir('GET', n.json.entry[1].fullUrl.replace(`${server.base}/`, ''))).body.description),
      );
      expect(descriptions).to.deep.equal(Array.from({ length: 100 }, (_, i) => `visit ${i}`));
    });
  });

  describe('receivers that fail', () => {
    let server: TestServer;
    before(async () => {
      server = await startSubscriptionServer('postgres', { maxAttempts: 4, backoffBaseMs: 100, backoffMaxMs: 300 });
    });
    after(async () => {
      await server?.stop();
    });

    it('a receiver down for a few retries, then up: delivered, and the attempts are logged for $status', async () => {
      const receiver = await startReceiver();
      const id = await subscribe(server, 'backport-appointment-id-only.json', receiver.url, topicFor('patient-flaky'));
      receiver.failWith = 503;
      const appointment = subFixture('appointment-booked-for-ada.json');
      appointment.participant[0].actor.reference = 'Patient/patient-flaky';
      await server.fhir('POST', 'Appointment', { body: appointment });
      await eventually(() => server.fhir('GET', `Subscription/${id}/$status`), (r) => JSON.stringify(r.body).includes('HTTP 503'));
      receiver.failWith = undefined;
      await receiver.waitFor(() => receiver.events().length >= 1);
      expect(eventNumbers(receiver.events()[0])).to.deep.equal([1]);
      const status = await server.fhir('GET', `Subscription/${id}/$status`);
      const attempts = status.body.entry[0].resource.parameter.filter((p: { name: string }) => p.name === 'delivery-attempt');
      expect(attempts.some((a: any) => a.part.some((p: any) => p.name === 'http-status' && p.valueInteger === 503))).to.equal(true);
      expect(attempts.some((a: any) => a.part.some((p: any) => p.name === 'ok' && p.valueBoolean === true))).to.equal(true);
      expect((await server.fhir('GET', `Subscription/${id}`)).body.status).to.equal('active');
      await receiver.close();
    });

    it('a receiver down for good: status error with the reason; $events replays everything it missed', async () => {
      const receiver = await startReceiver();
      const id = await subscribe(server, 'backport-appointment-id-only.json', receiver.url, topicFor('patient-gone'));
      await receiver.close();
      const appointment = subFixture('appointment-booked-for-ada.json');
      appointment.participant[0].actor.reference = 'Patient/patient-gone';
      const ids: string[] = [];
      for (let i = 0; i < 3; i++) ids.push((await server.fhir('POST', 'Appointment', { body: appointment })).body.id);
      const failed = await eventually(() => server.fhir('GET', `Subscription/${id}`), (r) => r.body.status === 'error', 30_000);
      expect(failed.body.error).to.match(/failed 4 times.*(ECONNREFUSED|connect)/);
      const status = await server.fhir('GET', `Subscription/${id}/$status`);
      expect(status.body.entry[0].resource.parameter.find((p: { name: string }) => p.name === 'status').valueCode).to.equal('error');
      const events = await server.fhir('GET', `Subscription/${id}/$events?eventsSinceNumber=1&content=full-resource`);
      expect(events.status).to.equal(200);
      expect(events.body.type).to.equal('history');
      expect(eventNumbers({ json: events.body } as never)).to.deep.equal([1, 2, 3]);
      expect(events.body.entry.slice(1).map((e: any) => e.resource.id)).to.deep.equal(ids);
    });

    it('delivery resumes when the client sets the subscription back to active', async () => {
      const receiver = await startReceiver();
      const id = await subscribe(server, 'backport-appointment-id-only.json', receiver.url, topicFor('patient-resume'));
      receiver.failWith = 500;
      const appointment = subFixture('appointment-booked-for-ada.json');
      appointment.participant[0].actor.reference = 'Patient/patient-resume';
      await server.fhir('POST', 'Appointment', { body: appointment });
      const failed = await eventually(() => server.fhir('GET', `Subscription/${id}`), (r) => r.body.status === 'error', 30_000);
      receiver.failWith = undefined;
      const res = await server.fhir('PUT', `Subscription/${id}`, { body: { ...failed.body, status: 'active' } });
      expect(res.status, res.text).to.equal(200);
      await receiver.waitFor(() => receiver.events().length >= 1);
      expect(eventNumbers(receiver.events()[0])).to.deep.equal([1]);
      await receiver.close();
    });
  });

  describe('a transaction of 50 resources', () => {
    let server: TestServer;
    let receiver: Receiver;
    before(async () => {
      server = await startSubscriptionServer('postgres');
      receiver = await startReceiver();
    });
    after(async () => {
      await server?.stop();
      await receiver?.close();
    });

    it('yields exactly one notification per matching change', async () => {
      await subscribe(server, 'r4-careteam-criteria-ping.json', receiver.url, (s) => {
        s.criteria = 'CareTeam?patient=Patient/patient-tx';
      });
      await server.running.services.store.transaction(async (store) => {
        for (let i = 0; i < 50; i++) await store.create(careTeam(i % 2 ? 'patient-tx' : 'patient-other', i));
      });
      await receiver.waitFor((r) => r.length >= 25);
      await new Promise((r) => setTimeout(r, 1500)); // anything extra would have arrived by now
      expect(receiver.received).to.have.length(25);
      expect(new Set(receiver.received.map((r) => r.headers['x-notification-id'])).size).to.equal(25);
    });
  });
});

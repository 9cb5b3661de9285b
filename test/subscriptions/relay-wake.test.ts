import { expect } from 'chai';
import type { TestServer } from '../support/server.js';
import { eventually, startReceiver, startSubscriptionServer, subFixture, type Receiver } from './support.js';

// The relay polls only as a safety net: with the poll and the sweep an hour apart, a notification
// can only arrive because the write's commit woke the relay (NOTIFY change_log), on PGlite too.
describe('the relay is woken by each commit, not by polling', function () {
  this.timeout(60_000);

  async function activeSubscription(server: TestServer, receiver: Receiver): Promise<void> {
    const sub = subFixture('r4-careteam-criteria-ping.json');
    sub.channel.endpoint = receiver.url;
    const created = await server.fhir('POST', 'Subscription', { body: sub });
    expect(created.status, created.text).to.equal(201);
    await eventually(() => server.fhir('GET', `Subscription/${created.body.id}`), (r) => r.body.status === 'active');
  }

  async function writeIsNotified(server: TestServer, receiver: Receiver, count: number): Promise<void> {
    expect((await server.fhir('POST', 'CareTeam', { body: subFixture('careteam-for-ada.json') })).status).to.equal(201);
    await receiver.waitFor((r) => r.length >= count);
    expect(receiver.received[count - 1].headers['x-notification-id']).to.be.a('string');
  }

  describe('PGlite', () => {
    let server: TestServer;
    let receiver: Receiver;
    before(async () => {
      server = await startSubscriptionServer('pglite', { relayPollMs: 3_600_000, tickMs: 3_600_000 });
      receiver = await startReceiver();
    });
    after(async () => {
      await receiver?.close();
      await server?.stop();
    });

    it('a write is notified with no poll to find it', async () => {
      await activeSubscription(server, receiver);
      await writeIsNotified(server, receiver, 1);
    });
  });

  describe('PostgreSQL', () => {
    let server: TestServer;
    let receiver: Receiver;
    before(async () => {
      server = await startSubscriptionServer('postgres', { relayPollMs: 3_600_000, tickMs: 3_600_000 });
      receiver = await startReceiver();
    });
    after(async () => {
      await receiver?.close();
      await server?.stop();
    });

    it('a write is notified after the listening connection was lost (it reconnects)', async () => {
      await activeSubscription(server, receiver);
      await writeIsNotified(server, receiver, 1);
      const listeners = () => server.running.services.db.query<{ pid: number }>("SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND query = 'LISTEN change_log'");
      const [lost] = await listeners();
      await server.running.services.db.query('SELECT pg_terminate_backend($1)', [lost.pid]);
      await eventually(listeners, (rows) => rows.length === 1 && rows[0].pid !== lost.pid);
      await writeIsNotified(server, receiver, 2);
    });
  });
});

import { expect } from 'chai';
import type { TestServer } from '../support/server.js';
import { eventually, startReceiver, startSubscriptionServer, subFixture, type Receiver } from './support.js';

// The relay polls only as a safety net: with the poll and the sweep an hour apart, a notification
// can only arrive because the write's commit woke the relay (NOTIFY change_log), on PGlite too.
describe('the relay is woken by each commit, not by polling (PGlite)', function () {
  this.timeout(60_000);
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
    const sub = subFixture('r4-careteam-criteria-ping.json');
    sub.channel.endpoint = receiver.url;
    const created = await server.fhir('POST', 'Subscription', { body: sub });
    expect(created.status, created.text).to.equal(201);
    await eventually(() => server.fhir('GET', `Subscription/${created.body.id}`), (r) => r.body.status === 'active');
    expect((await server.fhir('POST', 'CareTeam', { body: subFixture('careteam-for-ada.json') })).status).to.equal(201);
    await receiver.waitFor((r) => r.length >= 1);
    expect(receiver.received[0].headers['x-notification-id']).to.be.a('string');
  });
});

import { expect } from 'chai';
import { startTestServer, type TestServer } from '../support/server.js';
import { SubscriptionCache } from '../../workers/subscription-cache.js';
import { eventually, subFixture } from './support.js';

// The deliverer's copy of the Subscriptions has no timer of its own: the change feed tells it that
// the change log has grown, and it reads the Subscription changes since its last look.
describe('the subscription cache follows the change log when told it grew', function () {
  this.timeout(120_000);
  let server: TestServer;
  let cache: SubscriptionCache;
  before(async () => {
    server = await startTestServer('pglite'); // no Redis: subscriptions are stored, no worker runs
  });
  after(async () => {
    cache?.stop();
    await server?.stop();
  });

  it('an updated Subscription is read again after changed()', async () => {
    const sub = subFixture('r4-careteam-criteria-ping.json');
    sub.channel.endpoint = 'http://127.0.0.1:9/first';
    const created = await server.fhir('POST', 'Subscription', { body: sub });
    expect(created.status, created.text).to.equal(201);
    cache = new SubscriptionCache(server.running.services.db, 50);
    await cache.start();
    expect(cache.get(created.body.id)?.endpoint).to.equal('http://127.0.0.1:9/first');

    const updated = await server.fhir('PUT', `Subscription/${created.body.id}`, { body: { ...created.body, channel: { ...created.body.channel, endpoint: 'http://127.0.0.1:9/second' } } });
    expect(updated.status, updated.text).to.equal(200);
    cache.changed();
    await eventually(async () => cache.get(created.body.id)?.endpoint, (endpoint) => endpoint === 'http://127.0.0.1:9/second');
  });
});

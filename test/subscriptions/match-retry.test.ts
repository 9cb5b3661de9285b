import { expect } from 'chai';
import type { Db } from '../../server/store/db.js';
import { EventStore } from '../../subscriptions/event-store.js';
import type { Change } from '../../subscriptions/subscription-index.js';
import { MatchStep } from '../../workers/match-step.js';
import { Queues } from '../../workers/queues.js';
import type { TestServer } from '../support/server.js';
import { startSubscriptionServer, subFixture, testSubscriptionConfig } from './support.js';

describe('a database failure during a match batch', function () {
  this.timeout(60_000);
  let server: TestServer;
  let queues: Queues;
  before(async () => {
    server = await startSubscriptionServer('postgres', { runWorkers: false });
    queues = new Queues(testSubscriptionConfig());
  });
  after(async () => {
    await queues?.close();
    await server?.stop();
  });

  it('is retried inside the job, so a later batch is never numbered first', async () => {
    const db = server.running.services.db;
    let failures = 2;
    // The event numbering statement fails twice (a lost connection), then works.
    const flaky: Db = Object.assign(Object.create(db) as Db, {
      query: (sql: string, params?: unknown[]) =>
        sql.includes('INSERT INTO subscription_event') && failures-- > 0 ? Promise.reject(new Error('connection terminated')) : db.query(sql, params),
    });
    const matcher = new MatchStep(flaky, server.running.services.search, new EventStore(flaky), queues);
    const sub = subFixture('r4-appointment-criteria-payload.json');
    const created = await server.fhir('POST', 'Subscription', { body: sub });
    expect(created.status, created.text).to.equal(201);
    await matcher.load();
    for (let i = 0; i < 2; i++) await server.fhir('POST', 'Appointment', { body: subFixture('appointment-booked-for-ada.json') });
    const rows = await db.query<{ seq: number; resource_type: string; id: string; version_id: number; interaction: Change['interaction']; changed_at: Date }>(
      "SELECT seq, resource_type, id, version_id, interaction, changed_at FROM change_log WHERE resource_type = 'Appointment' ORDER BY seq",
    );
    const [first, second] = rows.map((r) => [{ seq: Number(r.seq), resourceType: r.resource_type, id: r.id, versionId: r.version_id, interaction: r.interaction, changedAt: new Date(r.changed_at).toISOString() }]);
    const events = await matcher.processUntilDone(first);
    expect(failures, 'both failures were met and retried past').to.be.below(0);
    expect(events.filter((e) => e.subscriptionId === created.body.id).map((e) => e.eventNumber)).to.deep.equal([1]);
    const later = await matcher.processUntilDone(second);
    expect(later.filter((e) => e.subscriptionId === created.body.id).map((e) => e.eventNumber)).to.deep.equal([2]);
  });
});

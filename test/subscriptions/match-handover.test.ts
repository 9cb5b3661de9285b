import { expect } from 'chai';
import { EventStore } from '../../subscriptions/event-store.js';
import type { Change } from '../../subscriptions/subscription-index.js';
import { MatchStep } from '../../workers/match-step.js';
import { Queues, type BatchJob } from '../../workers/queues.js';
import type { TestServer } from '../support/server.js';
import { startSubscriptionServer, subFixture, testSubscriptionConfig } from './support.js';

// A match batch goes straight to the deliverer of the process that matched it; the delivery queue
// carries it only when that hand-over fails (the events are stored either way).
describe('a match batch is handed to the local deliverer', function () {
  this.timeout(120_000);
  let server: TestServer;
  let queues: Queues;
  let subscriptionId: string;
  let changes: Change[];
  before(async () => {
    server = await startSubscriptionServer('postgres', { runWorkers: false });
    queues = new Queues(testSubscriptionConfig()); // a queue prefix of its own: nothing consumes these jobs
    const created = await server.fhir('POST', 'Subscription', { body: subFixture('r4-appointment-criteria-payload.json') });
    expect(created.status, created.text).to.equal(201);
    subscriptionId = created.body.id;
    expect((await server.fhir('POST', 'Appointment', { body: subFixture('appointment-booked-for-ada.json') })).status).to.equal(201);
    const rows = await server.running.services.db.query<{ seq: number; id: string; version_id: number; interaction: Change['interaction']; changed_at: Date }>(
      "SELECT seq, id, version_id, interaction, changed_at FROM change_log WHERE resource_type = 'Appointment' ORDER BY seq",
    );
    changes = rows.map((r) => ({ seq: Number(r.seq), resourceType: 'Appointment', id: r.id, versionId: r.version_id, interaction: r.interaction, changedAt: new Date(r.changed_at).toISOString() }));
  });
  after(async () => {
    await queues?.close();
    await server?.stop();
  });

  /** A matcher whose index holds the subscription as active (no worker ran its handshake here). */
  async function matcher(deliverHere: (batch: BatchJob) => Promise<void>): Promise<MatchStep> {
    const db = server.running.services.db;
    const step = new MatchStep(db, server.running.services.search, new EventStore(db), queues, deliverHere);
    await step.load();
    step.index.upsert({ ...step.index.get(subscriptionId)!, status: 'active' });
    return step;
  }

  const batchJobId = (): string => `batch_${changes[0].seq}_${changes[changes.length - 1].seq}`;

  it('without a delivery job', async () => {
    const handed: BatchJob[] = [];
    await (await matcher(async (batch) => void handed.push(batch))).processUntilDone(changes);
    expect(handed.map((b) => b.events)).to.deep.equal([[[subscriptionId, 1, changes[0].seq]]]);
    expect(await queues.deliveries.getJob(batchJobId())).to.equal(undefined);
  });

  it('and queued as a delivery job when the hand-over fails', async () => {
    await (await matcher(() => Promise.reject(new Error('database away')))).processUntilDone(changes);
    const job = await queues.deliveries.getJob(batchJobId());
    expect(job?.data).to.deep.include({ kind: 'batch', events: [[subscriptionId, 1, changes[0].seq]] });
  });
});

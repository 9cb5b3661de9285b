import { createServer, type Server, type ServerResponse } from 'node:http';
import { expect } from 'chai';
import type { Db } from '../../server/store/db.js';
import type { SubscriptionConfig } from '../../server/subscription-config.js';
import { EndpointPolicy } from '../../subscriptions/endpoint-policy.js';
import { EventStore } from '../../subscriptions/event-store.js';
import { setStatus } from '../../subscriptions/lifecycle.js';
import type { Change } from '../../subscriptions/subscription-index.js';
import { Deliverer } from '../../workers/deliver.js';
import { Limiter } from '../../workers/limiter.js';
import { MatchStep } from '../../workers/match-step.js';
import { Queues, type BatchJob } from '../../workers/queues.js';
import { SubscriptionCache } from '../../workers/subscription-cache.js';
import type { TestServer } from '../support/server.js';
import { eventually, startSubscriptionServer, subFixture, testSubscriptionConfig } from './support.js';

/** A loopback receiver that records each request's notification id; it answers 200 at once, except the ids it is told to hold. */
interface HoldingReceiver {
  url: string;
  /** Notification ids in order of arrival, repeats included. */
  arrived: string[];
  hold(id: string): void;
  /** Answers the held requests of this id, and those that come later, with this status. */
  release(id: string, status?: number): void;
  /** Requests waiting for an answer. */
  held(): number;
  waitFor(id: string): Promise<void>;
  close(): Promise<void>;
}

async function startHoldingReceiver(): Promise<HoldingReceiver> {
  const arrived: string[] = [];
  const holding = new Map<string, ServerResponse[]>();
  const answers = new Map<string, number>();
  const server: Server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const id = String(req.headers['x-notification-id']);
      arrived.push(id);
      const waiting = holding.get(id);
      if (waiting) waiting.push(res);
      else res.writeHead(answers.get(id) ?? 200).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return {
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}/hook`,
    arrived,
    hold: (id) => void holding.set(id, []),
    release(id, status = 200) {
      for (const res of holding.get(id) ?? []) res.writeHead(status).end();
      holding.delete(id);
      answers.set(id, status);
    },
    held: () => [...holding.values()].reduce((n, waiting) => n + waiting.length, 0),
    async waitFor(id) {
      const until = Date.now() + 15_000;
      while (!arrived.includes(id)) {
        if (Date.now() > until) throw new Error(`${id} did not arrive (arrived: ${arrived.join(', ')})`);
        await new Promise((r) => setTimeout(r, 10));
      }
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

type Phase = 'before' | 'after';

/**
 * The test database, with a chosen statement held back until the test lets it through, before it
 * runs or after it ran (its answer held): a slow database at the moment the test picks.
 */
class SlowDb {
  readonly db: Db;
  private readonly holds: { pattern: RegExp; phase: Phase; reached: () => void; open: Promise<void> }[] = [];
  /** Statements running now (not those held). */
  running = 0;

  constructor(real: Db) {
    this.db = {
      kind: real.kind,
      query: async (sql, params, options) => {
        await this.pause(sql, 'before');
        this.running++;
        try {
          return await real.query(sql, params, options);
        } finally {
          this.running--;
          await this.pause(sql, 'after');
        }
      },
      transaction: (fn) => real.transaction(fn),
      exec: (sql) => real.exec(sql),
      close: () => real.close(),
    };
  }

  /** The next statement matching pattern waits at this phase until open(); reached says it is there. */
  hold(pattern: RegExp, phase: Phase = 'after'): { reached: Promise<void>; open(): void } {
    let reached!: () => void;
    let open!: () => void;
    const reachedP = new Promise<void>((r) => (reached = r));
    this.holds.push({ pattern, phase, reached, open: new Promise<void>((r) => (open = r)) });
    return { reached: reachedP, open };
  }

  private async pause(sql: string, phase: Phase): Promise<void> {
    const i = this.holds.findIndex((h) => h.phase === phase && h.pattern.test(sql));
    if (i < 0) return;
    const [h] = this.holds.splice(i, 1);
    h.reached();
    await h.open;
  }
}

/** Counts the notification requests in flight. */
class CountingLimiter extends Limiter {
  inFlight = 0;

  override async run<T>(host: string, fn: () => Promise<T>): Promise<T> {
    this.inFlight++;
    try {
      return await super.run(host, fn);
    } finally {
      this.inFlight--;
    }
  }
}

const ACQUIRE = /SET lease_owner = \$2, lease_until/;
const FLUSH = /\blog AS \(\s*INSERT INTO subscription_delivery/;
const BACK_OFF = /failures = CASE WHEN \$3 > delivered_through/;
const settle = (): Promise<void> => new Promise((r) => setImmediate(r)); // what the last answer set going (no I/O) has run

// One process's deliverer, driven batch by batch, with flushes when the test asks for them: the
// races between its lanes, leases and flushes, played out in a fixed order on the real database.
describe('a deliverer never sends an event twice while it stays up', function () {
  this.timeout(120_000);
  let server: TestServer;
  let queues: Queues;
  let receiver: HoldingReceiver;
  let config: SubscriptionConfig;
  let cache: SubscriptionCache | undefined;
  let deliverer: Deliverer | undefined;
  let matcher: MatchStep;
  let slow: SlowDb;
  let limiter: CountingLimiter;
  const handed: BatchJob[] = [];

  before(async () => {
    config = testSubscriptionConfig({ runWorkers: false, deliveryTimeoutMs: 30_000 });
    server = await startSubscriptionServer('postgres', config);
    queues = new Queues(config); // nothing consumes its jobs: the test hands them over
    receiver = await startHoldingReceiver();
  });
  beforeEach(async () => {
    const real = server.running.services.db;
    slow = new SlowDb(real);
    limiter = new CountingLimiter(config.deliveryConcurrency, config.hostConcurrency);
    cache = new SubscriptionCache(real, 500);
    await cache.start();
    deliverer = delivererOver(slow.db, 3_600_000); // flushes only when the test calls one
    // The matcher hands its batches to the test, which gives them to the deliverer when it chooses.
    matcher = new MatchStep(real, server.running.services.search, new EventStore(real), queues, async (batch) => void handed.push(batch));
    await matcher.load();
  });
  afterEach(async () => {
    await deliverer?.stop();
    cache?.stop();
  });
  after(async () => {
    await queues?.close();
    await receiver?.close();
    await server?.stop();
  });

  /** A deliverer over `db`, flushing every flushMs; each flush gives back the leases of the lanes idle by then. */
  function delivererOver(db: Db, flushMs: number): Deliverer {
    return new Deliverer({
      db,
      store: server.running.services.store,
      events: new EventStore(db),
      cache: cache!,
      queues,
      config,
      policy: new EndpointPolicy(config.endpointAllowList),
      baseUrl: () => server.base,
      publish: async () => 0,
      limiter,
      flushMs,
      idleLeaseMs: 0,
    });
  }

  /** Active R4 subscriptions with the resource as payload, one per patient, to the receiver. */
  async function subscribe(patients: string[]): Promise<string[]> {
    const ids: string[] = [];
    for (const patient of patients) {
      const sub = { ...subFixture('r4-appointment-criteria-payload.json'), criteria: `Appointment?patient=Patient/${patient}` };
      sub.channel.endpoint = receiver.url;
      const res = await server.fhir('POST', 'Subscription', { body: sub });
      expect(res.status, res.text).to.equal(201);
      expect(await setStatus(server.running.services.store, res.body.id, 'active', ['requested'])).to.equal(true);
      ids.push(res.body.id);
    }
    await cache!.reload(ids);
    await matcher.load();
    return ids;
  }

  /** Writes an Appointment per patient, in order, and numbers their events in one match batch, which it returns. */
  async function batchFor(patients: string[]): Promise<BatchJob> {
    const db = server.running.services.db;
    const [{ since }] = await db.query<{ since: number }>('SELECT COALESCE(max(seq), 0) AS since FROM change_log');
    for (const patient of patients) {
      const appointment = subFixture('appointment-booked-for-ada.json');
      appointment.participant[0].actor.reference = `Patient/${patient}`;
      expect((await server.fhir('POST', 'Appointment', { body: appointment })).status).to.equal(201);
    }
    const rows = await db.query<{ seq: number; id: string; version_id: number; interaction: Change['interaction']; changed_at: Date }>(
      "SELECT seq, id, version_id, interaction, changed_at FROM change_log WHERE resource_type = 'Appointment' AND seq > $1 ORDER BY seq",
      [since],
    );
    const changes = rows.map((r) => ({ seq: Number(r.seq), resourceType: 'Appointment', id: r.id, versionId: r.version_id, interaction: r.interaction, changedAt: new Date(r.changed_at).toISOString() }));
    await matcher.processUntilDone(changes);
    return handed.pop() ?? expect.fail('the writes matched no subscription');
  }

  /** Until the deliverer only waits for what the test holds: no statement running, every request in flight held by the receiver. */
  async function quiet(): Promise<void> {
    for (;;) {
      while (slow.running || limiter.inFlight > receiver.held()) await new Promise((r) => setTimeout(r, 5));
      await settle();
      if (!slow.running && limiter.inFlight === receiver.held()) return;
    }
  }

  const arrivedFor = (id: string): string[] => receiver.arrived.filter((n) => n.startsWith(`${id}-`));

  /** A new subscription for the patient, with its event 1 delivered and event 2 in flight (held by the receiver). */
  async function secondInFlight(patient: string): Promise<string> {
    const [x] = await subscribe([patient]);
    const batch = await batchFor([patient, patient]); // x:1, x:2
    receiver.hold(`${x}-2-2`);
    await deliverer!.deliverBatch(batch);
    await quiet();
    return x;
  }

  it('a lane that goes idle and is released while a batch takes other leases: the batch does not send through the released lane', async () => {
    const [x, y] = await subscribe(['lane-x', 'lane-y']);
    const batch1 = await batchFor(['lane-x']); // x:1
    const batch2 = await batchFor(['lane-x', 'lane-y']); // x:2, y:1
    const batch3 = await batchFor(['lane-x']); // x:3

    // x:1 is in flight: x's lane runs.
    receiver.hold(`${x}-1-1`);
    receiver.hold(`${x}-2-2`);
    await deliverer!.deliverBatch(batch1);
    await receiver.waitFor(`${x}-1-1`);

    // The next batch finds x's lane running and takes y's lease; the database is slow to answer.
    const acquired = slow.hold(ACQUIRE);
    const second = deliverer!.deliverBatch(batch2);
    await acquired.reached;

    // Meanwhile x:1 is answered, x's lane goes idle, and a flush gives its lease back (slowly too).
    receiver.release(`${x}-1-1`);
    await quiet();
    const flushed = slow.hold(FLUSH);
    const flush = deliverer!.flush();
    await flushed.reached;

    // y's lease arrives while x's release is being written: whatever the batch does now with x runs ...
    acquired.open();
    await quiet();
    // ... and then the release lands; x:2, if it was sent, is still in flight.
    flushed.open();
    await flush;
    await second;

    // The next write for x, while x:2 is still unanswered: a lane of x that started again from the
    // database's cursor would send x:2 once more.
    await deliverer!.deliverBatch(batch3);
    await quiet();
    receiver.release(`${x}-2-2`);
    await receiver.waitFor(`${x}-3-3`);
    await receiver.waitFor(`${y}-1-1`);
    await deliverer!.stop();

    expect(arrivedFor(x)).to.deep.equal([`${x}-1-1`, `${x}-2-2`, `${x}-3-3`]);
    expect(arrivedFor(y)).to.deep.equal([`${y}-1-1`]);
  });

  it('a lane that fails keeps its lease until its back-off is written: no second lane starts in between', async () => {
    const [x] = await subscribe(['fail-x']);
    const batch1 = await batchFor(['fail-x']); // x:1
    const batch2 = await batchFor(['fail-x']); // x:2
    receiver.hold(`${x}-1-1`);
    receiver.hold(`${x}-2-2`);
    await deliverer!.deliverBatch(batch1);
    await receiver.waitFor(`${x}-1-1`);

    // x:1 fails; writing the back-off is slow to start, and x:2 comes meanwhile.
    const backOff = slow.hold(BACK_OFF, 'before');
    receiver.release(`${x}-1-1`, 503);
    await backOff.reached;
    receiver.release(`${x}-1-1`); // its retry will succeed
    await deliverer!.deliverBatch(batch2);
    await quiet();
    backOff.open();
    await quiet();
    await deliverer!.flush();

    // The retry (the kick the failure queued, once the back-off has passed), while x:2, if it was sent, is still unanswered.
    const db = server.running.services.db;
    const [retry] = (await queues.deliveries.getJobs(['delayed', 'waiting'])).filter((job) => job.data.kind === 'events' && job.data.subscriptionId === x);
    expect(retry, 'the failure queued its retry').to.not.equal(undefined);
    await eventually(
      () => db.query<{ due: boolean }>('SELECT next_attempt_at IS NULL OR next_attempt_at <= now() AS due FROM subscription_state WHERE subscription_id = $1', [x]),
      ([row]) => row.due,
    );
    await deliverer!.handle(retry);
    await quiet();
    receiver.release(`${x}-2-2`);
    await receiver.waitFor(`${x}-2-2`);
    await deliverer!.stop();

    expect(arrivedFor(x)).to.deep.equal([`${x}-1-1`, `${x}-1-1`, `${x}-2-2`]);
  });

  it('a flush under way when its lane fails leaves the back-off the failure wrote: the retry waits for it', async () => {
    const x = await secondInFlight('backoff-x');

    // A flush with x's cursor move (through 1) sets off; the database is slow to run it.
    const started = slow.hold(FLUSH, 'before');
    const flush = deliverer!.flush();
    await started.reached;
    // x:2 fails: the back-off is written first ...
    receiver.release(`${x}-2-2`, 503);
    await quiet();
    // ... and then the flush runs, its move already recorded.
    started.open();
    await flush;

    const db = server.running.services.db;
    const [state] = await db.query<{ delivered_through: string; failures: number; backing_off: boolean }>(
      'SELECT delivered_through, failures, next_attempt_at IS NOT NULL AS backing_off FROM subscription_state WHERE subscription_id = $1',
      [x],
    );
    expect({ ...state, delivered_through: Number(state.delivered_through) }).to.deep.equal({ delivered_through: 1, failures: 1, backing_off: true });
  });

  it('a flush whose answer comes after its lane failed and a new lane took the lease leaves the new lane alone', async () => {
    const [x] = await subscribe(['flush-x']);
    const batch1 = await batchFor(['flush-x', 'flush-x']); // x:1, x:2
    const batch2 = await batchFor(['flush-x']); // x:3
    const batch3 = await batchFor(['flush-x']); // x:4
    receiver.hold(`${x}-2-2`);
    await deliverer!.deliverBatch(batch1);
    await quiet(); // x:1 delivered, x:2 in flight

    // A flush with x's cursor move sets off; the database is slow to run it.
    const started = slow.hold(FLUSH, 'before');
    const answered = slow.hold(FLUSH, 'after');
    const flush = deliverer!.flush();
    await started.reached;
    // x:2 fails: x's lane backs off and leaves.
    receiver.release(`${x}-2-2`, 503);
    await quiet();
    // The flush runs now (the lease is nobody's) and its answer is slow to come back ...
    started.open();
    await answered.reached;
    // ... while, once the back-off has passed (the flush leaves it: the test above), the next write
    // for x starts a new lane, which retries x:2.
    const db = server.running.services.db;
    await eventually(
      () => db.query<{ due: boolean }>('SELECT next_attempt_at IS NULL OR next_attempt_at <= now() AS due FROM subscription_state WHERE subscription_id = $1', [x]),
      ([row]) => row.due,
    );
    receiver.hold(`${x}-2-2`);
    await deliverer!.deliverBatch(batch2);
    await quiet();
    answered.open();
    await flush;

    // The next write for x, x:2 still unanswered: a third lane would send x:2 once more.
    await deliverer!.deliverBatch(batch3);
    await quiet();
    receiver.release(`${x}-2-2`);
    await receiver.waitFor(`${x}-4-4`);
    await deliverer!.stop();

    expect(arrivedFor(x)).to.deep.equal([`${x}-1-1`, `${x}-2-2`, `${x}-2-2`, `${x}-3-3`, `${x}-4-4`]);
  });

  it('a deliverer stopping waits for the request of a lane that lost its lease, and writes its cursor', async () => {
    const x = await secondInFlight('stop-x');

    // Another process takes x's lease (ours expired): the next flush, with x's move, finds it gone.
    const db = server.running.services.db;
    await db.query("UPDATE subscription_state SET lease_owner = 'another process', lease_until = now() + interval '1 minute' WHERE subscription_id = $1", [x]);
    await deliverer!.flush();

    // x:2 is answered while this process stops: its delivery must reach the database before the process goes.
    const stopped = deliverer!.stop();
    await quiet();
    receiver.release(`${x}-2-2`);
    await stopped;

    const [state] = await db.query<{ delivered_through: string }>('SELECT delivered_through FROM subscription_state WHERE subscription_id = $1', [x]);
    expect(Number(state.delivered_through)).to.equal(2);
  });

  it('an idle deliverer keeps no flush timer; a lane arms it, and its cursor and lease reach the database by themselves', async () => {
    const [x] = await subscribe(['timer-x']);
    const batch = await batchFor(['timer-x']);
    const timers = (): number => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    const before = timers();
    const timed = delivererOver(server.running.services.db, 20);
    // Nothing held: nothing wakes the process (measured by `npm run bench -- idle`).
    expect(timers()).to.equal(before);
    try {
      await timed.deliverBatch(batch);
      await receiver.waitFor(`${x}-1-1`);
      const state = async () => (await server.running.services.db.query<{ delivered_through: string; lease_owner: string | null }>('SELECT delivered_through, lease_owner FROM subscription_state WHERE subscription_id = $1', [x]))[0];
      const written = await eventually(state, (s) => Number(s.delivered_through) === 1 && s.lease_owner === null);
      expect(written.lease_owner).to.equal(null);
    } finally {
      await timed.stop();
    }
  });
});

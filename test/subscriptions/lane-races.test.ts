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
import { startSubscriptionServer, subFixture, testSubscriptionConfig } from './support.js';

/** A loopback receiver that records each request's notification id; it answers at once, except the ids it is told to hold. */
interface HoldingReceiver {
  url: string;
  /** Notification ids in order of arrival, repeats included. */
  arrived: string[];
  hold(id: string): void;
  /** Answers the held requests of this id (200) and those that come later. */
  release(id: string): void;
  waitFor(id: string): Promise<void>;
  close(): Promise<void>;
}

async function startHoldingReceiver(): Promise<HoldingReceiver> {
  const arrived: string[] = [];
  const holding = new Map<string, ServerResponse[]>();
  const server: Server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const id = String(req.headers['x-notification-id']);
      arrived.push(id);
      const waiting = holding.get(id);
      if (waiting) waiting.push(res);
      else res.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return {
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}/hook`,
    arrived,
    hold: (id) => void holding.set(id, []),
    release(id) {
      for (const res of holding.get(id) ?? []) res.writeHead(200).end();
      holding.delete(id);
    },
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

/**
 * The test database, with the answer of a chosen statement held back until the test lets it through:
 * a slow database at the moment the test picks. The statement itself runs at once.
 */
function slowAnswers(real: Db): { db: Db; hold(pattern: RegExp): { reached: Promise<void>; open(): void }; quiet(): Promise<void> } {
  const holds: { pattern: RegExp; reached: () => void; open: Promise<void> }[] = [];
  let inFlight = 0;
  const db: Db = {
    kind: real.kind,
    async query(sql, params, options) {
      inFlight++;
      try {
        const rows = await real.query(sql, params, options);
        const i = holds.findIndex((h) => h.pattern.test(sql));
        if (i >= 0) {
          const [h] = holds.splice(i, 1);
          h.reached();
          await h.open;
        }
        return rows as never;
      } finally {
        inFlight--;
      }
    },
    transaction: (fn) => real.transaction(fn),
    exec: (sql) => real.exec(sql),
    close: () => real.close(),
  };
  return {
    db,
    hold(pattern) {
      let reached!: () => void;
      let open!: () => void;
      const reachedP = new Promise<void>((r) => (reached = r));
      holds.push({ pattern, reached, open: new Promise<void>((r) => (open = r)) });
      return { reached: reachedP, open };
    },
    /** No statement in flight, and what the last answer set going (no I/O) has run. */
    async quiet() {
      while (inFlight) await new Promise((r) => setTimeout(r, 5));
      await settle();
    },
  };
}

const ACQUIRE = /SET lease_owner = \$2, lease_until/;
const FLUSH = /^\s*WITH log AS/;
const settle = (): Promise<void> => new Promise((r) => setImmediate(r)); // what the last answer set going (no I/O) has run

// One process's deliverer, driven batch by batch, with flushes when the test asks for them: the
// races between its lanes, leases and flushes, played out in a fixed order on the real database.
describe('a deliverer never sends an event twice while it stays up', function () {
  this.timeout(120_000);
  let server: TestServer;
  let queues: Queues;
  let receiver: HoldingReceiver;
  let cache: SubscriptionCache;
  let deliverer: Deliverer | undefined;
  let matcher: MatchStep;
  const handed: BatchJob[] = [];
  let config: SubscriptionConfig;

  before(async () => {
    config = testSubscriptionConfig({ runWorkers: false, deliveryTimeoutMs: 30_000 });
    server = await startSubscriptionServer('postgres', config);
    queues = new Queues(config); // nothing consumes its jobs here
    receiver = await startHoldingReceiver();
  });
  after(async () => {
    await deliverer?.stop();
    cache?.stop();
    await queues?.close();
    await receiver?.close();
    await server?.stop();
  });

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

  async function start(db: Db, audited: (notificationId: string) => void): Promise<Deliverer> {
    const real = server.running.services.db;
    const events = new EventStore(db);
    cache = new SubscriptionCache(real, 500);
    await cache.start();
    deliverer = new Deliverer({
      db,
      store: server.running.services.store,
      events,
      cache,
      queues,
      config,
      policy: new EndpointPolicy(config.endpointAllowList),
      baseUrl: () => server.base,
      publish: async () => 0,
      limiter: new Limiter(config.deliveryConcurrency, config.hostConcurrency),
      audit: async (record) => audited(record.requestId!),
      flushMs: 3_600_000, // flushes only when the test calls one
    });
    // The matcher hands its batches to the test, which gives them to the deliverer when it chooses.
    matcher = new MatchStep(real, server.running.services.search, new EventStore(real), queues, async (batch) => void handed.push(batch));
    await matcher.load();
    return deliverer;
  }

  it('a lane that goes idle and is released while a batch takes other leases: the batch does not send through the released lane', async () => {
    const [x, y] = await subscribe(['lane-x', 'lane-y']);
    const slow = slowAnswers(server.running.services.db);
    const attempted: string[] = [];
    const deliverer = await start(slow.db, (id) => attempted.push(id));
    const batch1 = await batchFor(['lane-x']); // x:1
    const batch2 = await batchFor(['lane-x', 'lane-y']); // x:2, y:1
    const batch3 = await batchFor(['lane-x']); // x:3

    // x:1 is in flight: x's lane runs.
    receiver.hold(`${x}-1-1`);
    receiver.hold(`${x}-2-2`);
    await deliverer.deliverBatch(batch1);
    await receiver.waitFor(`${x}-1-1`);

    // The next batch finds x's lane running and takes y's lease; the database is slow to answer.
    const acquired = slow.hold(ACQUIRE);
    const second = deliverer.deliverBatch(batch2);
    await acquired.reached;

    // Meanwhile x:1 is answered, x's lane goes idle, and a flush gives its lease back (slowly too).
    receiver.release(`${x}-1-1`);
    while (!attempted.includes(`${x}-1-1`)) await new Promise((r) => setTimeout(r, 5));
    await settle();
    const flushed = slow.hold(FLUSH);
    const flush = deliverer.flush();
    await flushed.reached;

    // y's lease arrives while x's release is being written: whatever the batch does now with x runs ...
    acquired.open();
    await settle();
    // ... and then the release lands; x:2, if it was sent, is still in flight.
    flushed.open();
    await flush;
    await second;

    // The next write for x, while x:2 is still unanswered: a lane of x that started again from the
    // database's cursor would send x:2 once more.
    await deliverer.deliverBatch(batch3);
    await receiver.waitFor(`${x}-2-2`);
    await slow.quiet();
    receiver.release(`${x}-2-2`);
    await receiver.waitFor(`${x}-3-3`);
    await receiver.waitFor(`${y}-1-1`);
    await deliverer.stop();
    const sent = receiver.arrived.filter((id) => id.startsWith(x) || id.startsWith(y));
    expect(sent.filter((id) => id.startsWith(x))).to.deep.equal([`${x}-1-1`, `${x}-2-2`, `${x}-3-3`]);
    expect(sent.filter((id) => id.startsWith(y))).to.deep.equal([`${y}-1-1`]);
  });
});

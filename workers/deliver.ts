import { randomUUID } from 'node:crypto';
import type { Resource } from '@medplum/fhirtypes';
import { DelayedError, type Job } from 'bullmq';
import type { Db } from '../server/store/db.js';
import type { Store } from '../server/store/store.js';
import type { SubscriptionConfig } from '../server/subscription-config.js';
import { DeliveryCursors, type CursorMove, type DeliveryAttempt } from '../subscriptions/delivery-cursors.js';
import type { EventStore, SubscriptionEvent } from '../subscriptions/event-store.js';
import { setStatus } from '../subscriptions/lifecycle.js';
import type { SubscriptionModel } from '../subscriptions/model.js';
import type { LoadedEvent } from '../subscriptions/notification.js';
import type { BatchJob, DeliveryJob, Queues } from './queues.js';
import { sendNotification, type SendDeps } from './send.js';
import type { SubscriptionCache } from './subscription-cache.js';
import { loadVersions, versionKey, type VersionKey } from './versions.js';

export interface DelivererDeps extends SendDeps {
  db: Db;
  store: Store;
  events: EventStore;
  cache: SubscriptionCache;
  queues: Queues;
  config: SubscriptionConfig;
  /** How often cursor moves, lease releases and the attempt log are written (one statement each time). */
  flushMs?: number;
  /** How long an idle lane keeps its lease before a flush gives it back (IDLE_LEASE_MS). */
  idleLeaseMs?: number;
}

/**
 * An idle lane keeps its lease this long: a subscription with an event every second or so then
 * costs no lease statement per batch (taking and giving back leases was a statement per match batch
 * and the flushes' main work). Another worker process that matches an event for it meanwhile finds
 * the lease taken and queues a kick, which this process (still holding the lane) or that one (once
 * the lease is free) takes: at most about this long, usually one kick's delay.
 */
const IDLE_LEASE_MS = 2000;

/** Retry n waits base * 2^(n-1), capped, times a jitter in [0.5, 1) so failed receivers are not hit in lock-step. */
export function backoffMs(config: SubscriptionConfig, failures: number): number {
  const raw = Math.min(config.backoffMaxMs, config.backoffBaseMs * 2 ** Math.max(0, failures - 1));
  return Math.round(raw * (0.5 + Math.random() * 0.5));
}

/** One subscription this process holds the lease of, with what it knows is pending. */
interface Lane {
  id: string;
  /** Delivered through this number; the database learns it at the next flush. */
  cursor: number;
  failures: number;
  /** Highest event number seen: events-since-subscription-start in notifications. */
  highest: number;
  queue: Map<number, LoadedEvent>;
  /** Read what is pending from the database (a kick, a gap, a page left over). */
  fromDb: boolean;
  handshake: boolean;
  running: boolean;
  /** 'asked': idle, released by the first flush once idle for idleLeaseMs, unless work comes; 'flushing': that flush is under way. */
  release: 'no' | 'asked' | 'flushing';
  /** When its loop last ended with nothing left to send. */
  idleSince: number;
  /** Its loop must stop: it lost its lease (it left the map), or failed (it leaves once the back-off is written). */
  gone: boolean;
}

const DB_PAGE = 500;

/**
 * The delivery step. A process takes a subscription's lease (subscription_state) when it has events
 * for it and keeps it while it has more, so one process at a time delivers for a subscription, in
 * number order, one request in flight. Batch jobs only hand events to these per-subscription lanes
 * and complete: a slow receiver holds up its own lane, never a job slot. The cursor moves in memory
 * after a 2xx and in the database at the next flush, with lease renewals and releases and the
 * attempt log, one statement for all. A process that dies leaves its leases to expire; the ticker's
 * sweep then re-kicks what is pending, and it is sent again with the same notification id
 * (at-least-once). Failures back off in the database, so every process honours the same back-off;
 * after maxAttempts the subscription goes to `error`.
 */
export class Deliverer {
  readonly cursors: DeliveryCursors;
  private readonly lanes = new Map<string, Lane>();
  private moves = new Map<string, number>();
  private attempts: DeliveryAttempt[] = [];
  private flushing?: Promise<void>;
  private acquiring: Promise<unknown> = Promise.resolve();
  /**
   * Highest event this process has delivered per subscription, for its whole life (a number per
   * subscription). A lane started from the database's cursor never goes below it: whatever race
   * leaves the database behind (a flush not yet written, a lease that changed hands), this process
   * does not send again what it already sent.
   */
  private readonly sent = new Map<string, number>();
  private lastRenew = Date.now();
  private timer?: NodeJS.Timeout;
  /** Lanes whose loop runs, in the map or not (a lane that lost its lease finishes its request): their moves and attempts are still to flush. */
  private runningLanes = 0;
  private stopping = false;

  constructor(private readonly deps: DelivererDeps) {
    this.cursors = new DeliveryCursors(deps.db, randomUUID(), deps.config.deliveryTimeoutMs + 2000);
  }

  /** Flushes run while this process holds something (a lane, a cursor move, an attempt to log): an idle process is not woken 20 times a second. */
  private arm(): void {
    if (!this.timer && !this.stopping) this.timer = setInterval(() => void this.flush(), this.deps.flushMs ?? 50);
  }

  async handle(job: Job<DeliveryJob>, token?: string): Promise<void> {
    const data = job.data;
    if (data.kind === 'batch') return this.deliverBatch(data);
    if (data.kind === 'heartbeat') return this.heartbeat(data.subscriptionId);
    const id = data.subscriptionId;
    await this.deps.cache.atLeast([[id, data.kind === 'handshake' ? data.versionId : (data.versionId ?? 0)]]);
    const sub = this.deps.cache.get(id);
    if (!sub) return;
    if (data.kind === 'events' && (sub.status !== 'active' || ended(sub))) return;
    const lane = (await this.lanesFor([id])).get(id);
    if (!lane) {
      // Another process holds the lease, or the subscription is backing off: look again later.
      const state = await this.deps.events.state(id);
      if (data.kind === 'events' && state && state.deliveredThrough >= data.eventNumber) return;
      const until = Math.max(state?.nextAttemptAt?.getTime() ?? 0, Date.now() + 50 + Math.random() * 50);
      await job.moveToDelayed(until, token);
      throw new DelayedError();
    }
    if (data.kind === 'handshake') lane.handshake = true;
    else lane.fromDb = true;
    this.run(lane);
  }

  /**
   * A match batch (from this process's matcher, with the resource versions it loaded, or a batch
   * job): its events go to their subscriptions' lanes, payload resources read once for all. Batches come in batch order, so
   * lanes rarely see a gap they must read from the database.
   */
  async deliverBatch(data: BatchJob, loaded?: Map<VersionKey, Resource>): Promise<void> {
    await this.deps.cache.atLeast(Object.entries(data.versions));
    const changes = new Map(data.changes.map((c) => [c.seq, c]));
    const bySub = new Map<string, SubscriptionEvent[]>();
    for (const [subscriptionId, eventNumber, seq] of data.events) {
      const c = changes.get(seq)!;
      const event: SubscriptionEvent = { subscriptionId, eventNumber, changeSeq: seq, resourceType: c.resourceType, resourceId: c.id, versionId: c.versionId, interaction: c.interaction, occurredAt: new Date(c.changedAt) };
      bySub.set(subscriptionId, [...(bySub.get(subscriptionId) ?? []), event]);
    }
    // Resources first: between taking the lanes and queueing into them nothing may wait, or a lane
    // could be released (and another started) under our feet.
    const resources = await this.resources([...bySub.values()].flat(), loaded);
    const lanes = await this.lanesFor([...bySub.keys()]);
    const elsewhere: SubscriptionEvent[] = [];
    for (const [id, events] of bySub) {
      const lane = lanes.get(id);
      if (!lane) {
        elsewhere.push(events[0]);
        continue;
      }
      for (const event of events) this.enqueue(lane, { event, resource: resources.get(versionKey(event.resourceType, event.resourceId, event.versionId)) });
      this.run(lane);
    }
    // Held by another process (or backing off): a kick retries until it is ours or delivered.
    for (const first of elsewhere) await this.deps.queues.kick(first.subscriptionId, first.eventNumber, `_busy${Date.now()}`, 100);
  }

  private enqueue(lane: Lane, loaded: LoadedEvent): void {
    const n = loaded.event.eventNumber;
    lane.highest = Math.max(lane.highest, n);
    if (n > lane.cursor && !lane.queue.has(n)) lane.queue.set(n, loaded);
  }

  /**
   * Lanes for these subscriptions: the ones held, plus the leases taken now in one statement. One
   * call at a time per process: two jobs taking the same lease at once could otherwise each start
   * a lane, one of them from a cursor the other has already moved past (a duplicate).
   */
  private lanesFor(ids: string[]): Promise<Map<string, Lane>> {
    const result = this.acquiring.then(() => this.takeLanes(ids));
    this.acquiring = result.catch(() => undefined);
    return result;
  }

  /**
   * Waits for the releases under way and takes the leases missing, until every subscription has a
   * lane or is someone else's; only then, with no wait left before the caller queues into them, are
   * the lanes claimed. A lane claimed before a wait could go idle during it and be handed to a flush
   * that gives its lease back: work queued into it then goes out beside the subscription's next
   * lane, which starts from a cursor without that lane's request in flight (a duplicate).
   */
  private async takeLanes(ids: string[]): Promise<Map<string, Lane>> {
    const elsewhere = new Set<string>(); // held by another process, or backing off
    while (!this.stopping) {
      if (ids.some((id) => this.lanes.get(id)?.release === 'flushing')) {
        await this.flushing; // a failed flush keeps its lanes (and their cursors, ahead of the database)
        continue;
      }
      const free = ids.filter((id) => !this.lanes.has(id) && !elsewhere.has(id));
      if (!free.length) break;
      const taken = await this.cursors.acquire(free);
      for (const id of free) if (!taken.has(id)) elsewhere.add(id);
      for (const [id, { deliveredThrough, failures }] of taken) {
        if (this.lanes.has(id)) throw new Error(`lane ${id} appeared while taking its lease`); // cannot happen: takeLanes runs one at a time
        this.arm();
        this.lanes.set(id, {
          id,
          cursor: Math.max(deliveredThrough, this.sent.get(id) ?? 0),
          failures,
          highest: deliveredThrough,
          queue: new Map(),
          fromDb: false,
          handshake: false,
          running: false,
          release: 'no',
          idleSince: 0,
          gone: false,
        });
      }
    }
    const result = new Map<string, Lane>();
    for (const id of ids) {
      const lane = this.lanes.get(id);
      if (!lane || lane.release === 'flushing') continue; // 'flushing' only when stopping
      lane.release = 'no';
      result.set(id, lane);
    }
    return result;
  }

  /** Starts the lane's loop unless it runs; when it ends with nothing left, the lease goes once the lane has stayed idle a while. */
  private run(lane: Lane): void {
    if (lane.running || lane.gone || this.stopping) return;
    lane.running = true;
    this.runningLanes++;
    void this.drain(lane)
      .catch(() => {
        // The database failed mid-way: hand the lease back; the kick (or the sweep) tries again.
        lane.fromDb = true;
        lane.queue.clear();
        void this.deps.queues.kick(lane.id, lane.cursor + 1, `_error${Date.now()}`, 1000).catch(() => undefined);
      })
      .finally(() => {
        lane.running = false;
        this.runningLanes--;
        if (lane.gone) return;
        if (!this.stopping && (lane.handshake || lane.fromDb || lane.queue.has(lane.cursor + 1))) this.run(lane);
        else {
          lane.release = 'asked';
          lane.idleSince = Date.now();
        }
      });
  }

  private async drain(lane: Lane): Promise<void> {
    while (!this.stopping && !lane.gone) {
      const sub = this.deps.cache.get(lane.id);
      if (!sub) return void lane.queue.clear(); // deleted
      if (lane.handshake) {
        lane.handshake = false;
        if (!(await this.handshake(lane, sub))) return;
        continue;
      }
      if (sub.status !== 'active' || ended(sub)) {
        // Events stay stored: delivery resumes when the subscription is active again.
        lane.queue.clear();
        lane.fromDb = false;
        return;
      }
      const batch = await this.next(lane, sub);
      if (!batch.length) return;
      const already = this.sent.get(lane.id) ?? 0;
      if (batch[0].event.eventNumber <= already) {
        // Sent already by an earlier lane of this process whose cursor had not reached the database.
        lane.cursor = Math.max(lane.cursor, already);
        this.moves.set(lane.id, Math.max(already, this.moves.get(lane.id) ?? 0));
        for (const n of [...lane.queue.keys()]) if (n <= lane.cursor) lane.queue.delete(n);
        continue;
      }
      const last = batch[batch.length - 1].event.eventNumber;
      const sent = await sendNotification(this.deps, sub, 'event-notification', batch, Math.max(lane.highest, last), 'active');
      if (sent.ok === 'nobody') return void lane.queue.clear(); // websocket, nobody bound: a bind kicks delivery
      if (sent.attempt) this.attempts.push(sent.attempt);
      if (!sent.ok) return this.failure(lane, sub, sent.error);
      for (const { event } of batch) lane.queue.delete(event.eventNumber);
      lane.cursor = last;
      lane.failures = 0;
      this.moves.set(lane.id, Math.max(last, this.moves.get(lane.id) ?? 0));
      this.sent.set(lane.id, Math.max(last, this.sent.get(lane.id) ?? 0));
    }
  }

  /** The next events in number order (several for a Backport max-count; one per R4 payload). */
  private async next(lane: Lane, sub: SubscriptionModel): Promise<LoadedEvent[]> {
    const max = sub.topic ? Math.max(1, sub.maxCount) : 1;
    const from = lane.cursor + 1;
    if (lane.fromDb || (lane.queue.size && !lane.queue.has(from))) {
      const stored = await this.deps.events.events(lane.id, from, Number.MAX_SAFE_INTEGER, DB_PAGE);
      lane.fromDb = stored.length === DB_PAGE;
      const resources = await this.resources(stored.filter((e) => !lane.queue.has(e.eventNumber)));
      for (const event of stored) this.enqueue(lane, { event, resource: resources.get(versionKey(event.resourceType, event.resourceId, event.versionId)) });
      if (!lane.queue.has(from)) lane.queue.clear(); // nothing stored at the cursor: what is queued cannot go first
    }
    const batch: LoadedEvent[] = [];
    for (let n = from; batch.length < max && lane.queue.has(n); n++) batch.push(lane.queue.get(n)!);
    return batch;
  }

  /** The resource versions payloads carry (full-resource, or an R4 payload): those already loaded, the rest in one query. */
  private async resources(events: SubscriptionEvent[], loaded?: Map<VersionKey, Resource>): Promise<Map<VersionKey, Resource>> {
    const wanted = events.filter((e) => {
      const sub = this.deps.cache.get(e.subscriptionId);
      return e.interaction !== 'delete' && !!sub && (sub.topic ? sub.content === 'full-resource' : !!sub.payload);
    });
    const found = new Map<VersionKey, Resource>();
    const missing: [string, string, number][] = [];
    for (const key of new Set(wanted.map((e) => versionKey(e.resourceType, e.resourceId, e.versionId)))) {
      const resource = loaded?.get(key);
      if (resource) found.set(key, resource);
      else {
        const [type, id, version] = key.split('/');
        missing.push([type, id, Number(version)]);
      }
    }
    for (const [key, resource] of await loadVersions(this.deps.db, missing)) found.set(key, resource);
    return found;
  }

  /** Backport: a handshake Bundle; success activates the subscription (R4 criteria and websocket: activate at once). */
  private async handshake(lane: Lane, sub: SubscriptionModel): Promise<boolean> {
    if (sub.status !== 'requested') return true;
    if (sub.topic && sub.channelType === 'rest-hook') {
      const sent = await sendNotification(this.deps, sub, 'handshake', [], lane.highest, 'requested');
      if (sent.attempt) this.attempts.push(sent.attempt);
      if (!sent.ok) {
        await this.failure(lane, sub, sent.error);
        return false;
      }
    }
    await setStatus(this.deps.store, sub.id, 'active', ['requested']);
    await this.deps.cache.reload([sub.id]);
    lane.fromDb = true; // events stored while it was requested
    return true;
  }

  /**
   * A failed attempt: keep the cursor, back off in the database, give up the lease; retry later or
   * give up. The lane stays until the back-off is written: gone sooner, a batch meanwhile would take
   * the lease (still ours, not yet backing off) for a second lane, which the back-off then leaves
   * without a lease in the database.
   */
  private async failure(lane: Lane, sub: SubscriptionModel, error = 'failed'): Promise<void> {
    const failures = lane.failures + 1;
    const retryIn = backoffMs(this.deps.config, failures);
    lane.gone = true;
    this.moves.delete(lane.id); // failed() writes the cursor; a move would clear the back-off
    const n = await this.cursors.failed(lane.id, lane.cursor, error, retryIn).finally(() => {
      if (this.lanes.get(lane.id) === lane) this.lanes.delete(lane.id);
    });
    if (!n) return; // the lease was no longer ours
    if (n < this.deps.config.maxAttempts) {
      // The sweep is the safety net if this kick is lost (Redis away).
      await this.deps.queues.kick(lane.id, lane.cursor + 1, `_retry${n}_${Date.now()}`, retryIn).catch(() => undefined);
      return;
    }
    const reason = `Delivery to ${sub.endpoint} failed ${n} times; last error: ${error}`;
    await setStatus(this.deps.store, sub.id, 'error', ['active', 'requested'], reason);
  }

  private async heartbeat(id: string): Promise<void> {
    const sub = this.deps.cache.get(id);
    if (sub?.status !== 'active' || !sub.topic) return;
    const state = await this.deps.events.state(id);
    const sent = await sendNotification(this.deps, sub, 'heartbeat', [], state?.eventsSinceStart ?? 0, 'active');
    if (sent.attempt) {
      this.attempts.push(sent.attempt);
      this.arm();
    }
    await this.deps.events.markSent(id);
  }

  /**
   * Writes cursor moves, renews the leases held (every third of their lifetime), releases lanes
   * idle for idleLeaseMs (all of them when stopping) and logs attempts, in one statement. On failure
   * everything waits for the next flush.
   */
  flush(): Promise<void> {
    if (this.flushing) return this.flushing;
    if (!this.lanes.size && !this.runningLanes && !this.moves.size && !this.attempts.length) {
      clearInterval(this.timer);
      this.timer = undefined;
      return Promise.resolve();
    }
    const now = Date.now();
    const renew = now - this.lastRenew > this.cursors.leaseMs / 3;
    const idleBefore = this.stopping ? Infinity : now - (this.deps.idleLeaseMs ?? IDLE_LEASE_MS);
    const rows = new Map<string, CursorMove>();
    // The lane each row speaks for: by the answer, that one may have failed and another taken its place.
    const lanes = new Map<string, Lane>();
    for (const [id, through] of this.moves) rows.set(id, { subscriptionId: id, through, release: false });
    for (const lane of this.lanes.values()) {
      if (lane.release === 'asked' && !lane.running && lane.idleSince <= idleBefore) {
        lane.release = 'flushing';
        rows.set(lane.id, { subscriptionId: lane.id, through: rows.get(lane.id)?.through ?? 0, release: true });
      } else if (renew && !rows.has(lane.id)) rows.set(lane.id, { subscriptionId: lane.id, through: 0, release: false });
      if (rows.has(lane.id)) lanes.set(lane.id, lane);
    }
    const attempts = this.attempts;
    if (!rows.size && !attempts.length) return Promise.resolve();
    this.moves = new Map();
    this.attempts = [];
    this.flushing = this.cursors
      .flush([...rows.values()], attempts)
      .then((kept) => {
        if (renew) this.lastRenew = now;
        for (const row of rows.values()) {
          const lane = lanes.get(row.subscriptionId);
          if (!lane || lane.gone) continue;
          // Released; or our lease expired and someone took it: stop, they deliver from the database's cursor.
          if ((row.release && lane.release === 'flushing') || !kept.has(lane.id)) {
            lane.gone = true;
            this.lanes.delete(lane.id);
          }
        }
      })
      .catch(() => {
        for (const row of rows.values()) if (row.through) this.moves.set(row.subscriptionId, Math.max(row.through, this.moves.get(row.subscriptionId) ?? 0));
        for (const lane of this.lanes.values()) if (lane.release === 'flushing') lane.release = 'asked';
        this.attempts = [...attempts, ...this.attempts].slice(-10_000); // a log, not a guarantee: bounded while the database is away
      })
      .finally(() => {
        this.flushing = undefined;
      });
    return this.flushing;
  }

  /**
   * Lets lanes finish their request in flight, those that lost their lease too (a 2xx they get moves
   * the cursor whoever holds the lease), then writes cursors and releases every lease.
   */
  async stop(timeoutMs = 5000): Promise<void> {
    this.stopping = true;
    const until = Date.now() + timeoutMs;
    while (this.runningLanes && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
    clearInterval(this.timer);
    for (const lane of this.lanes.values()) if (!lane.running) lane.release = 'asked';
    await this.flushing;
    await this.flush();
  }
}

const ended = (sub: SubscriptionModel): boolean => !!sub.end && sub.end.getTime() <= Date.now();

import type { Db } from '../server/store/db.js';
import type { Store } from '../server/store/store.js';
import type { EventStore } from '../subscriptions/event-store.js';
import { setStatus } from '../subscriptions/lifecycle.js';
import type { SubscriptionIndex } from '../subscriptions/subscription-index.js';
import { DELIVERY_JOB_OPTIONS, type Queues } from './queues.js';

/**
 * Time-driven work, once per tick in every worker process (job ids make the duplicates harmless):
 * heartbeats (backport-heartbeat-period), `end` in the past -> off, and a sweep that re-requests
 * delivery for subscriptions with pending events and no live lease (the safety net behind every
 * lost job: a crash between commit and enqueue, a job that exhausted its attempts). The sweep runs
 * every tick only while there is something it could find: from a commit (changed()) until its
 * events are past the grace, and while the last sweep found work; otherwise once per grace, so an
 * idle server does not query the events every second.
 */
export class Ticker {
  private timer?: NodeJS.Timeout;
  private busy = false;
  /** Sweep every tick until then. */
  private sweepUntil = 0;
  private lastSweep = -Infinity;

  constructor(
    private readonly deps: { db: Db; store: Store; events: EventStore; index: SubscriptionIndex; queues: Queues },
    private readonly tickMs: number,
    /** How long an event may wait for its own job before the sweep kicks it (the stalled-job interval). */
    private readonly graceMs = 0,
  ) {}

  start(): void {
    this.timer = setInterval(() => {
      if (this.busy) return;
      this.busy = true;
      this.tick()
        .catch(() => undefined) // Redis or the database away: the next tick tries again
        .finally(() => (this.busy = false));
    }, this.tickMs);
  }

  /** A commit wrote the change log: its events may need the sweep once they are past the grace. */
  changed(now = Date.now()): void {
    this.sweepUntil = Math.max(this.sweepUntil, now + this.graceMs + 2 * this.tickMs);
  }

  async tick(now = Date.now()): Promise<void> {
    const { index, queues, store, events, db } = this.deps;
    const subs = index.all();
    for (const sub of subs) {
      if (sub.end && sub.end.getTime() <= now && sub.status !== 'off') await setStatus(store, sub.id, 'off', ['active', 'requested', 'error']);
    }
    const beating = subs.filter((s) => s.status === 'active' && s.topic && s.heartbeatSeconds);
    if (beating.length) {
      const rows = await db.query<{ subscription_id: string; last_sent_at: Date | null }>(
        'SELECT subscription_id, last_sent_at FROM subscription_state WHERE subscription_id = ANY($1::text[])',
        [beating.map((s) => s.id)],
      );
      const lastSent = new Map(rows.map((r) => [r.subscription_id, r.last_sent_at ? new Date(r.last_sent_at).getTime() : 0]));
      for (const sub of beating) {
        const periodMs = sub.heartbeatSeconds! * 1000;
        if (now - (lastSent.get(sub.id) ?? 0) < periodMs) continue;
        const slot = Math.floor(now / periodMs);
        await queues.deliveries.add('heartbeat', { kind: 'heartbeat', subscriptionId: sub.id }, { ...DELIVERY_JOB_OPTIONS, attempts: 1, jobId: `heartbeat_${sub.id}_${slot}` });
      }
    }
    if (now >= this.sweepUntil && now - this.lastSweep < Math.max(this.graceMs, this.tickMs)) return;
    this.lastSweep = now;
    const slot = Math.floor(now / 10_000);
    for (const { subscriptionId, next } of await events.undelivered(500, this.graceMs)) {
      if (index.get(subscriptionId)?.status !== 'active') continue;
      this.sweepUntil = Math.max(this.sweepUntil, now + 2 * this.tickMs); // look again soon: it may not be the last
      await queues.kick(subscriptionId, next, `_sweep${slot}`);
    }
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }
}

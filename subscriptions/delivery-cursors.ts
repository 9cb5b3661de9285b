import type { Db } from '../server/store/db.js';

/** One delivery attempt (handshake, heartbeat, event notification), for the log $status reads. */
export interface DeliveryAttempt {
  subscriptionId: string;
  notificationId: string;
  kind: string;
  firstEvent?: number;
  lastEvent?: number;
  attemptedAt: Date;
  durationMs: number;
  ok: boolean;
  httpStatus?: number;
  error?: string;
}

/** A subscription's row in one flush: move the cursor (0 = no move), then keep or give up the lease. */
export interface CursorMove {
  subscriptionId: string;
  through: number;
  release: boolean;
}

const interval = (ms: number): string => `${Math.round(ms)} milliseconds`;

/**
 * `locked`: the rows of the subscriptions in the text[] parameter, locked in id order before the
 * statement changes them. The match step's upsert of event counters goes in id order too
 * (event-store.ts). An UPDATE meets rows in its plan's order, storage order for a hash join over
 * many subscriptions, and two statements locking in different orders deadlock: PostgreSQL breaks
 * that only after deadlock_timeout (1 s), while every notification of both waits.
 */
const lockedInIdOrder = (ids: string): string =>
  `locked AS MATERIALIZED (SELECT subscription_id FROM subscription_state WHERE subscription_id = ANY(${ids}::text[]) ORDER BY subscription_id FOR UPDATE)`;

/**
 * Leases and delivery cursors of subscription_state, in bulk: a deliverer process takes the leases of
 * every subscription of a batch in one statement, and moves cursors, renews or gives up leases and
 * logs attempts for all of them in one statement per flush. One statement per subscription per
 * notification was what made delivery slow (bench/notify-results.md).
 */
export class DeliveryCursors {
  constructor(
    private readonly db: Db,
    /** The lease owner: one per deliverer process (it serialises a subscription's work in memory). */
    readonly owner: string,
    readonly leaseMs: number,
  ) {}

  /**
   * Takes the leases that are free, expired or already ours, and not backing off. Returns the cursor
   * and failure count of each one taken; a subscription missing from the answer is someone else's.
   */
  async acquire(ids: string[]): Promise<Map<string, { deliveredThrough: number; failures: number }>> {
    const rows = await this.db.query<{ subscription_id: string; delivered_through: number; failures: number }>(
      `WITH ${lockedInIdOrder('$1')}
       UPDATE subscription_state s SET lease_owner = $2, lease_until = now() + $3::interval
       FROM locked
       WHERE s.subscription_id = locked.subscription_id
         AND (lease_owner IS NULL OR lease_owner = $2 OR lease_until IS NULL OR lease_until < now())
         AND (next_attempt_at IS NULL OR next_attempt_at <= now())
       RETURNING s.subscription_id, delivered_through, failures`,
      [ids, this.owner, interval(this.leaseMs)],
      { prepared: true },
    );
    return new Map(rows.map((r) => [r.subscription_id, { deliveredThrough: Number(r.delivered_through), failures: Number(r.failures) }]));
  }

  /**
   * One statement for a flush: the attempt log rows, then per subscription the cursor moved (a move
   * past the stored cursor clears failures and back-off; one that is not past it was overtaken by a
   * failure written meanwhile, whose back-off stands), and the lease renewed or released. The cursor moves whoever holds
   * the lease now: it only ever records deliveries that got a 2xx, and dropping one because the lease
   * changed hands would send those events again. Returns the subscriptions whose lease is still
   * ours; a missing one was lost (expired and taken) and must stop delivering.
   */
  async flush(moves: CursorMove[], attempts: DeliveryAttempt[]): Promise<Set<string>> {
    const rows = await this.db.query<{ subscription_id: string; ours: boolean }>(
      `WITH ${lockedInIdOrder('$13')},
       log AS (
         INSERT INTO subscription_delivery (subscription_id, notification_id, kind, first_event, last_event, attempted_at, duration_ms, ok, http_status, error)
         SELECT * FROM unnest($3::text[], $4::text[], $5::text[], $6::bigint[], $7::bigint[], $8::timestamptz[], $9::int[], $10::bool[], $11::int[], $12::text[]))
       UPDATE subscription_state s SET
         delivered_through = GREATEST(s.delivered_through, u.through),
         failures = CASE WHEN u.through > s.delivered_through THEN 0 ELSE s.failures END,
         next_attempt_at = CASE WHEN u.through > s.delivered_through THEN NULL ELSE s.next_attempt_at END,
         last_error = CASE WHEN u.through > s.delivered_through THEN NULL ELSE s.last_error END,
         last_sent_at = CASE WHEN u.through > 0 THEN now() ELSE s.last_sent_at END,
         lease_owner = CASE WHEN s.lease_owner = $1 AND u.release THEN NULL ELSE s.lease_owner END,
         lease_until = CASE WHEN s.lease_owner IS DISTINCT FROM $1 THEN s.lease_until WHEN u.release THEN NULL ELSE now() + $2::interval END
       FROM unnest($13::text[], $14::bigint[], $15::bool[]) AS u(id, through, release) JOIN locked ON locked.subscription_id = u.id
       WHERE s.subscription_id = u.id
       RETURNING s.subscription_id, s.lease_owner IS NOT DISTINCT FROM $1 AS ours`,
      [
        this.owner,
        interval(this.leaseMs),
        attempts.map((a) => a.subscriptionId),
        attempts.map((a) => a.notificationId),
        attempts.map((a) => a.kind),
        attempts.map((a) => a.firstEvent ?? null),
        attempts.map((a) => a.lastEvent ?? null),
        attempts.map((a) => a.attemptedAt.toISOString()),
        attempts.map((a) => Math.round(a.durationMs)),
        attempts.map((a) => a.ok),
        attempts.map((a) => a.httpStatus ?? null),
        attempts.map((a) => a.error ?? null),
        moves.map((m) => m.subscriptionId),
        moves.map((m) => m.through),
        moves.map((m) => m.release),
      ],
      { prepared: true },
    );
    return new Set(rows.filter((r) => r.ours).map((r) => r.subscription_id));
  }

  /**
   * After a failed attempt: keep what was delivered before it, count the failure, set when the next
   * attempt may start, give up the lease. Returns the failure count (0 if the lease was not ours).
   */
  async failed(subscriptionId: string, through: number, error: string, retryInMs: number): Promise<number> {
    const rows = await this.db.query<{ failures: number }>(
      `UPDATE subscription_state SET delivered_through = GREATEST(delivered_through, $3), failures = CASE WHEN $3 > delivered_through THEN 1 ELSE failures + 1 END, last_error = $4,
         next_attempt_at = now() + $5::interval, lease_owner = NULL, lease_until = NULL
       WHERE subscription_id = $1 AND lease_owner = $2 RETURNING failures`,
      [subscriptionId, this.owner, through, error, interval(retryInMs)],
    );
    return Number(rows[0]?.failures ?? 0);
  }
}

import type { Db, Queryable } from '../server/store/db.js';
import type { Change } from './matcher.js';

/** A stored event of one subscription: what changed, numbered per subscription. */
export interface SubscriptionEvent {
  subscriptionId: string;
  eventNumber: number;
  changeSeq: number;
  resourceType: string;
  resourceId: string;
  versionId: number;
  interaction: string;
  occurredAt: Date;
}

export interface DeliveryState {
  subscriptionId: string;
  eventsSinceStart: number;
  deliveredThrough: number;
  failures: number;
  nextAttemptAt?: Date;
  lastError?: string;
  lastSentAt?: Date;
}

interface EventRow {
  subscription_id: string;
  event_number: number;
  change_seq: number;
  resource_type: string;
  resource_id: string;
  version_id: number;
  interaction: string;
  occurred_at: Date;
}

const toEvent = (r: EventRow): SubscriptionEvent => ({
  subscriptionId: r.subscription_id,
  eventNumber: Number(r.event_number),
  changeSeq: Number(r.change_seq),
  resourceType: r.resource_type,
  resourceId: r.resource_id,
  versionId: r.version_id,
  interaction: r.interaction,
  occurredAt: new Date(r.occurred_at),
});

/** The subscription tables (migration 010): event numbers, the delivery cursor and lease, the attempt log. */
export class EventStore {
  constructor(readonly db: Db) {}

  /** Read-only use on any connection (the operations run on the request's). */
  static reader(sql: Queryable): EventStore {
    return new EventStore(sql as Db);
  }

  async ensureState(subscriptionId: string): Promise<void> {
    await this.db.query('INSERT INTO subscription_state (subscription_id) VALUES ($1) ON CONFLICT DO NOTHING', [subscriptionId]);
  }

  /**
   * Numbers and stores the events of one batch of changes, in one transaction, in change order.
   * The counter row update locks it, so numbers per subscription are gap-free and strictly increasing;
   * a change already numbered for a subscription (a re-run job) keeps its number.
   */
  recordEvents(matches: { change: Change; subscriptionIds: string[] }[]): Promise<SubscriptionEvent[]> {
    return this.db.transaction(async (tx) => {
      const events: SubscriptionEvent[] = [];
      for (const { change, subscriptionIds } of matches) {
        if (!subscriptionIds.length) continue;
        const rows = await tx.query<EventRow>(
          `WITH fresh AS (
             SELECT s FROM unnest($1::text[]) AS s
             WHERE NOT EXISTS (SELECT 1 FROM subscription_event e WHERE e.subscription_id = s AND e.change_seq = $2)
           ), numbered AS (
             INSERT INTO subscription_state AS st (subscription_id, events_since_start)
             SELECT s, 1 FROM fresh ORDER BY s
             ON CONFLICT (subscription_id) DO UPDATE SET events_since_start = st.events_since_start + 1
             RETURNING subscription_id, events_since_start
           )
           INSERT INTO subscription_event (subscription_id, event_number, change_seq, resource_type, resource_id, version_id, interaction, occurred_at)
           SELECT subscription_id, events_since_start, $2, $3, $4, $5, $6, $7 FROM numbered
           RETURNING *`,
          [subscriptionIds, change.seq, change.resourceType, change.id, change.versionId, change.interaction, change.changedAt],
        );
        const already = await tx.query<EventRow>('SELECT * FROM subscription_event WHERE change_seq = $1 AND subscription_id = ANY($2::text[])', [change.seq, subscriptionIds]);
        const fresh = new Set(rows.map((r) => r.subscription_id));
        events.push(...rows.map(toEvent), ...already.filter((r) => !fresh.has(r.subscription_id)).map(toEvent));
      }
      return events;
    });
  }

  async events(subscriptionId: string, from: number, to: number, limit: number, sql: Queryable = this.db): Promise<SubscriptionEvent[]> {
    const rows = await sql.query<EventRow>(
      'SELECT * FROM subscription_event WHERE subscription_id = $1 AND event_number >= $2 AND event_number <= $3 ORDER BY event_number LIMIT $4',
      [subscriptionId, from, to, limit],
    );
    return rows.map(toEvent);
  }

  async state(subscriptionId: string, sql: Queryable = this.db): Promise<DeliveryState | undefined> {
    const rows = await sql.query<Record<string, unknown>>('SELECT * FROM subscription_state WHERE subscription_id = $1', [subscriptionId]);
    const r = rows[0];
    if (!r) return undefined;
    return {
      subscriptionId,
      eventsSinceStart: Number(r.events_since_start),
      deliveredThrough: Number(r.delivered_through),
      failures: Number(r.failures),
      nextAttemptAt: r.next_attempt_at ? new Date(r.next_attempt_at as string) : undefined,
      lastError: (r.last_error as string | null) ?? undefined,
      lastSentAt: r.last_sent_at ? new Date(r.last_sent_at as string) : undefined,
    };
  }

  /**
   * Takes the subscription's delivery lease (one deliverer per subscription keeps events in order).
   * Undefined when someone else holds it or the back-off has not elapsed; otherwise the cursor.
   */
  async acquireLease(subscriptionId: string, owner: string, leaseMs: number): Promise<{ deliveredThrough: number; failures: number } | undefined> {
    const rows = await this.db.query<{ delivered_through: number; failures: number }>(
      `UPDATE subscription_state SET lease_owner = $2, lease_until = now() + ($3 || ' milliseconds')::interval
       WHERE subscription_id = $1 AND (lease_until IS NULL OR lease_until < now() OR lease_owner = $2 OR lease_owner IS NULL)
         AND (next_attempt_at IS NULL OR next_attempt_at <= now())
       RETURNING delivered_through, failures`,
      [subscriptionId, owner, String(leaseMs)],
    );
    return rows[0] ? { deliveredThrough: Number(rows[0].delivered_through), failures: rows[0].failures } : undefined;
  }

  async releaseLease(subscriptionId: string, owner: string): Promise<void> {
    await this.db.query('UPDATE subscription_state SET lease_owner = NULL, lease_until = NULL WHERE subscription_id = $1 AND lease_owner = $2', [subscriptionId, owner]);
  }

  /** After a successful delivery: move the cursor, clear failures, renew the lease. */
  async delivered(subscriptionId: string, owner: string, through: number, leaseMs: number): Promise<void> {
    await this.db.query(
      `UPDATE subscription_state SET delivered_through = GREATEST(delivered_through, $3), failures = 0, next_attempt_at = NULL, last_error = NULL,
         last_sent_at = now(), lease_until = now() + ($4 || ' milliseconds')::interval
       WHERE subscription_id = $1 AND lease_owner = $2`,
      [subscriptionId, owner, through, String(leaseMs)],
    );
  }

  /** After a failed attempt: count it, set when the next may start, give up the lease. Returns the failure count. */
  async failed(subscriptionId: string, owner: string, error: string, retryInMs: number): Promise<number> {
    const rows = await this.db.query<{ failures: number }>(
      `UPDATE subscription_state SET failures = failures + 1, last_error = $3, next_attempt_at = now() + ($4 || ' milliseconds')::interval,
         lease_owner = NULL, lease_until = NULL
       WHERE subscription_id = $1 AND lease_owner = $2 RETURNING failures`,
      [subscriptionId, owner, error, String(retryInMs)],
    );
    return rows[0]?.failures ?? 0;
  }

  /** When the client sets a subscription back to active: retry at once. */
  async resetFailures(subscriptionId: string): Promise<void> {
    await this.db.query('UPDATE subscription_state SET failures = 0, next_attempt_at = NULL WHERE subscription_id = $1', [subscriptionId]);
  }

  async markSent(subscriptionId: string): Promise<void> {
    await this.db.query('UPDATE subscription_state SET last_sent_at = now() WHERE subscription_id = $1', [subscriptionId]);
  }

  /** Subscriptions with events not yet delivered and no live lease (the sweep re-kicks them). */
  async undelivered(limit: number): Promise<{ subscriptionId: string; next: number }[]> {
    const rows = await this.db.query<{ subscription_id: string; delivered_through: number }>(
      `SELECT subscription_id, delivered_through FROM subscription_state
       WHERE events_since_start > delivered_through AND (lease_until IS NULL OR lease_until < now())
         AND (next_attempt_at IS NULL OR next_attempt_at <= now()) LIMIT $1`,
      [limit],
    );
    return rows.map((r) => ({ subscriptionId: r.subscription_id, next: Number(r.delivered_through) + 1 }));
  }

  async logAttempt(a: {
    subscriptionId: string;
    notificationId: string;
    kind: string;
    firstEvent?: number;
    lastEvent?: number;
    durationMs: number;
    ok: boolean;
    httpStatus?: number;
    error?: string;
  }): Promise<void> {
    await this.db.query(
      `INSERT INTO subscription_delivery (subscription_id, notification_id, kind, first_event, last_event, attempted_at, duration_ms, ok, http_status, error)
       VALUES ($1, $2, $3, $4, $5, now(), $6, $7, $8, $9)`,
      [a.subscriptionId, a.notificationId, a.kind, a.firstEvent ?? null, a.lastEvent ?? null, Math.round(a.durationMs), a.ok, a.httpStatus ?? null, a.error ?? null],
    );
  }

  async recentAttempts(subscriptionId: string, limit: number, sql: Queryable = this.db): Promise<Record<string, unknown>[]> {
    return sql.query('SELECT * FROM subscription_delivery WHERE subscription_id = $1 ORDER BY id DESC LIMIT $2', [subscriptionId, limit]);
  }
}

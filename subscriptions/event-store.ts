import type { Db, Queryable } from '../server/store/db.js';
import type { Change } from './subscription-index.js';

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

/** The subscription tables (migration 010): event numbers and their replay, delivery state, the attempt log. Leases and cursor moves: delivery-cursors.ts. */
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
   * Numbers and stores the events of one batch of changes in ONE statement (no transaction needed):
   * per subscription, events are numbered in change order after its counter, which the upsert bumps
   * by the batch's count and locks (rows in id order, as the deliverer's statements lock them, so
   * neither concurrent batches nor deliveries can deadlock with it: delivery-cursors.ts), so
   * numbers are gap-free and strictly increasing. A (subscription, change) already numbered (a re-run
   * batch) keeps its number and is returned as it is; the last SELECT sees the table as it was before
   * this statement, so it returns exactly those.
   */
  async recordEvents(matches: { change: Change; subscriptionIds: string[] }[]): Promise<SubscriptionEvent[]> {
    const subs: string[] = [];
    const seqs: number[] = [];
    for (const { change, subscriptionIds } of matches) {
      for (const id of subscriptionIds) {
        subs.push(id);
        seqs.push(change.seq);
      }
    }
    if (!subs.length) return [];
    const changes = matches.map((m) => m.change);
    const rows = await this.db.query<EventRow>(
      `WITH m AS (SELECT * FROM unnest($1::text[], $2::bigint[]) AS m(subscription_id, change_seq)),
       c AS (SELECT * FROM unnest($3::bigint[], $4::text[], $5::text[], $6::int[], $7::text[], $8::timestamptz[])
             AS c(seq, resource_type, resource_id, version_id, interaction, occurred_at)),
       fresh AS (SELECT m.* FROM m WHERE NOT EXISTS
                 (SELECT 1 FROM subscription_event e WHERE e.subscription_id = m.subscription_id AND e.change_seq = m.change_seq)),
       counts AS (SELECT subscription_id, count(*) AS n FROM fresh GROUP BY subscription_id),
       bumped AS (
         INSERT INTO subscription_state AS st (subscription_id, events_since_start)
         SELECT subscription_id, n FROM counts ORDER BY subscription_id
         ON CONFLICT (subscription_id) DO UPDATE SET events_since_start = st.events_since_start + EXCLUDED.events_since_start
         RETURNING subscription_id, events_since_start),
       inserted AS (
         INSERT INTO subscription_event (subscription_id, event_number, change_seq, resource_type, resource_id, version_id, interaction, occurred_at)
         SELECT f.subscription_id, b.events_since_start - k.n + row_number() OVER (PARTITION BY f.subscription_id ORDER BY f.change_seq),
                f.change_seq, c.resource_type, c.resource_id, c.version_id, c.interaction, c.occurred_at
         FROM fresh f JOIN counts k USING (subscription_id) JOIN bumped b USING (subscription_id) JOIN c ON c.seq = f.change_seq
         RETURNING *)
       SELECT * FROM inserted
       UNION ALL
       SELECT e.* FROM subscription_event e JOIN m ON e.subscription_id = m.subscription_id AND e.change_seq = m.change_seq`,
      [
        subs,
        seqs,
        changes.map((c) => c.seq),
        changes.map((c) => c.resourceType),
        changes.map((c) => c.id),
        changes.map((c) => c.versionId),
        changes.map((c) => c.interaction),
        changes.map((c) => c.changedAt),
      ],
      // Every match batch runs it: parsed once per connection (the text never changes).
      { prepared: true },
    );
    return rows.map(toEvent).sort((a, b) => a.changeSeq - b.changeSeq || (a.subscriptionId < b.subscriptionId ? -1 : 1));
  }

  async events(subscriptionId: string, from: number, to: number, limit: number, sql: Queryable = this.db): Promise<SubscriptionEvent[]> {
    const rows = await sql.query<EventRow>(
      'SELECT * FROM subscription_event WHERE subscription_id = $1 AND event_number >= $2 AND event_number <= $3 ORDER BY event_number LIMIT $4',
      [subscriptionId, from, to, limit],
      { prepared: true },
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

  /** When the client sets a subscription back to active: retry at once. */
  async resetFailures(subscriptionId: string): Promise<void> {
    await this.db.query('UPDATE subscription_state SET failures = 0, next_attempt_at = NULL WHERE subscription_id = $1', [subscriptionId]);
  }

  async markSent(subscriptionId: string): Promise<void> {
    await this.db.query('UPDATE subscription_state SET last_sent_at = now() WHERE subscription_id = $1', [subscriptionId]);
  }

  /**
   * Subscriptions with events not yet delivered and no live lease whose next event has waited longer
   * than graceMs (the sweep re-kicks them). The grace keeps the sweep off events whose batch job is
   * merely queued: kicking those too cost a lease statement and an event read each, under load.
   */
  async undelivered(limit: number, graceMs = 0): Promise<{ subscriptionId: string; next: number }[]> {
    const rows = await this.db.query<{ subscription_id: string; delivered_through: number }>(
      `SELECT s.subscription_id, s.delivered_through FROM subscription_state s
       WHERE s.events_since_start > s.delivered_through AND (s.lease_until IS NULL OR s.lease_until < now())
         AND (s.next_attempt_at IS NULL OR s.next_attempt_at <= now())
         AND EXISTS (SELECT 1 FROM subscription_event e WHERE e.subscription_id = s.subscription_id AND e.event_number = s.delivered_through + 1
                     AND e.occurred_at < now() - ($2 || ' milliseconds')::interval)
       LIMIT $1`,
      [limit, String(graceMs)],
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

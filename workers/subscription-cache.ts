import type { Subscription } from '@medplum/fhirtypes';
import type { Db } from '../server/store/db.js';
import { toModel, type SubscriptionModel } from '../subscriptions/model.js';

type Row = { id: string; content: string };

/**
 * The deliverer's copy of every Subscription, so a notification costs no read of it. Kept fresh by
 * the change log: when it grows (changed(), from the change feed) the cache reads the Subscription
 * changes since its last look (an index range scan on change_log (resource_type, seq)) and reloads
 * those, at most once per refreshMs while writes flow, and not at all while nothing is written. A
 * job that names a newer version than the cached one (the matcher saw it) reloads that
 * subscription at once.
 */
export class SubscriptionCache {
  private readonly byId = new Map<string, SubscriptionModel>();
  private throughSeq = 0;
  private timer?: NodeJS.Timeout;
  private lastRefresh = 0;
  private refreshing?: Promise<void>;
  private stopped = false;

  constructor(
    private readonly db: Db,
    private readonly refreshMs: number,
  ) {}

  async start(): Promise<void> {
    const [{ max }] = await this.db.query<{ max: number }>('SELECT COALESCE(max(seq), 0) AS max FROM change_log');
    const rows = await this.db.query<Row>("SELECT id, content FROM resources WHERE resource_type = 'Subscription' AND NOT deleted");
    for (const r of rows) this.put(r);
    this.throughSeq = Number(max);
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  /** The change log has grown: refresh now, or when refreshMs has passed since the last refresh. */
  changed(): void {
    if (this.timer || this.stopped) return;
    this.timer = setTimeout(
      () => {
        this.timer = undefined;
        this.lastRefresh = Date.now();
        void this.refresh().catch(() => undefined);
      },
      Math.max(0, this.lastRefresh + this.refreshMs - Date.now()),
    );
  }

  get(id: string): SubscriptionModel | undefined {
    return this.byId.get(id);
  }

  /** Makes sure the cached copy is at least this version (read it again if not). */
  async atLeast(ids: Iterable<[id: string, version: number]>): Promise<void> {
    const stale = [...ids].filter(([id, v]) => (this.byId.get(id)?.versionId ?? 0) < v).map(([id]) => id);
    if (stale.length) await this.reload(stale);
  }

  /** Re-reads these subscriptions; a deleted or missing one leaves the cache. */
  async reload(ids: string[]): Promise<void> {
    const rows = await this.db.query<Row>("SELECT id, content FROM resources WHERE resource_type = 'Subscription' AND id = ANY($1::text[]) AND NOT deleted", [ids]);
    const found = new Set(rows.map((r) => r.id));
    for (const id of ids) if (!found.has(id)) this.byId.delete(id);
    for (const r of rows) this.put(r);
  }

  /** Applies the Subscription changes the change log has seen since the last refresh. */
  refresh(): Promise<void> {
    this.refreshing ??= (async () => {
      try {
        const rows = await this.db.query<{ id: string; seq: number }>(
          "SELECT id, seq FROM change_log WHERE resource_type = 'Subscription' AND seq > $1 ORDER BY seq",
          [this.throughSeq],
        );
        if (!rows.length) return;
        await this.reload([...new Set(rows.map((r) => r.id))]);
        this.throughSeq = Math.max(this.throughSeq, ...rows.map((r) => Number(r.seq)));
      } finally {
        this.refreshing = undefined;
      }
    })();
    return this.refreshing;
  }

  private put(r: Row): void {
    const model = toModel(JSON.parse(r.content) as Subscription & { id: string });
    const old = this.byId.get(r.id);
    if (!old || old.versionId <= model.versionId) this.byId.set(r.id, model);
  }
}

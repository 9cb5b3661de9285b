import type { SearchParameter } from '@medplum/fhirtypes';
import type { Queryable } from '../store/db.js';
import type { SearchRegistry } from './registry.js';
import { reindexForParameter, unregisterSearchParameter, validateSearchParameter } from './reindex.js';

interface Pending {
  /** PostgreSQL transaction id of the write. */
  xid: string;
  id: string;
  /** The parameter written, or undefined for a delete. */
  sp?: SearchParameter;
}

/**
 * The SearchParameter resources held by the server, kept in step with what the database committed.
 * A write registers (a delete unregisters) a parameter inside its transaction, so the transaction's
 * own re-indexing and later entries see it at once. The store gives no commit hook, so the
 * transaction id is remembered instead; once PostgreSQL reports that transaction finished
 * (txid_status), the custom parameters are rebuilt from the committed rows, and a rollback leaves
 * nothing behind. Other processes learn of a parameter when they start.
 */
export class CustomParameters {
  private loaded?: Promise<void>;
  /** Registered custom parameters by resource id. */
  private readonly active = new Map<string, SearchParameter>();
  private pending: Pending[] = [];

  constructor(private readonly registry: SearchRegistry) {}

  /**
   * Loads the stored parameters once; then, unless called from inside a write (`settle: false`: the
   * store has already changed rows the pending list does not cover yet), settles the writes whose
   * transactions have finished. Free when nothing is pending.
   */
  async sync(sql: Queryable, settle = true): Promise<void> {
    this.loaded ??= this.reload(sql).catch((err: unknown) => {
      this.loaded = undefined; // try again on the next call
      throw err;
    });
    await this.loaded;
    if (settle && this.pending.length) await this.settle(sql);
  }

  /** A SearchParameter created or updated in `tx`: registered now, existing resources re-indexed in `tx`. */
  async put(tx: Queryable, sp: SearchParameter & { id: string }): Promise<void> {
    validateSearchParameter(this.registry, sp);
    this.pending.push({ xid: await transactionId(tx), id: sp.id, sp });
    const previous = this.active.get(sp.id);
    if (previous) await unregisterSearchParameter(tx, this.registry, previous);
    this.active.set(sp.id, sp);
    await reindexForParameter(tx, this.registry, sp);
  }

  /** A SearchParameter deleted in `tx`: unregistered now and its index rows dropped in `tx`. */
  async delete(tx: Queryable, id: string): Promise<void> {
    // Pending even when not registered: if this transaction rolls back, the reload restores the parameter.
    this.pending.push({ xid: await transactionId(tx), id });
    const sp = this.active.get(id);
    if (!sp) return;
    this.active.delete(id);
    await unregisterSearchParameter(tx, this.registry, sp);
  }

  private async settle(sql: Queryable): Promise<void> {
    const xids = [...new Set(this.pending.map((p) => p.xid))];
    const rows = await sql.query<{ x: string; s: string | null }>('SELECT x, txid_status(x::bigint) AS s FROM unnest($1::text[]) AS x', [xids]);
    // NULL: so old its status is gone, long finished.
    const finished = new Set(rows.filter((r) => r.s !== 'in progress').map((r) => r.x));
    if (!finished.size) return;
    this.pending = this.pending.filter((p) => !finished.has(p.xid));
    await this.reload(sql);
  }

  /** Rebuilds the custom parameters: the committed ones, then the writes of transactions still open (they keep their own view). */
  private async reload(sql: Queryable): Promise<void> {
    const rows = await sql.query<{ id: string; content: string }>(`SELECT id, content FROM resources WHERE resource_type = 'SearchParameter' AND NOT deleted`);
    for (const sp of this.active.values()) this.registry.unregister(sp);
    this.active.clear();
    for (const row of rows) this.apply(row.id, JSON.parse(row.content) as SearchParameter);
    for (const p of this.pending) this.apply(p.id, p.sp);
  }

  private apply(id: string, sp: SearchParameter | undefined): void {
    const previous = this.active.get(id);
    if (previous) this.registry.unregister(previous);
    this.active.delete(id);
    if (!sp) return;
    try {
      this.registry.register(sp);
      this.active.set(id, sp);
    } catch {
      // A stored definition this version cannot register stays unsearchable rather than stopping the server.
    }
  }
}

async function transactionId(tx: Queryable): Promise<string> {
  const [{ xid }] = await tx.query<{ xid: string }>('SELECT txid_current()::text AS xid');
  return xid;
}

import type { QueryOptions, Queryable } from './db.js';
import type { ExtractedIndexRows, ResourceIndexer } from './store.js';

/** A new resource (version 1) waiting in its transaction to be written with others. */
export interface NewVersion {
  resourceType: string;
  id: string;
  lastUpdated: Date;
  /** The JSON text as served. */
  content: string;
  index: ExtractedIndexRows;
}

/** New versions per statement: bounds the arrays sent (unnest takes one parameter per column, so no parameter limit applies). */
const CHUNK = 1000;

/**
 * A transaction's connection that holds back the first versions created in it, so that a run of
 * creates (a transaction Bundle's POSTs) is written with one statement of multi-row INSERTs (the
 * current, history, change-log and every index row) instead of two statements per resource.
 * Any other statement on the transaction writes them first, so every read, search, lock and check
 * sees exactly what it would have seen had each create been written at once; the store writes what
 * is left before the transaction commits (flush).
 */
export class PendingCreates implements Queryable {
  private waiting: NewVersion[] = [];
  /** The writes under way, in order: a statement issued meanwhile waits for them. */
  private written: Promise<void> = Promise.resolve();

  constructor(
    private readonly tx: Queryable,
    private readonly indexer: ResourceIndexer,
  ) {}

  add(version: NewVersion): void {
    this.waiting.push(version);
  }

  async query<T = Record<string, unknown>>(sql: string, params?: unknown[], options?: QueryOptions): Promise<T[]> {
    await this.flush();
    return this.tx.query<T>(sql, params, options);
  }

  /** Writes the waiting versions; a failure fails this and every later statement (the transaction is aborted anyway). */
  flush(): Promise<void> {
    if (this.waiting.length) {
      const versions = this.waiting;
      this.waiting = [];
      this.written = this.written.then(() => this.write(versions));
    }
    return this.written;
  }

  /** Whether creates are waiting: flushWith has something to send its INSERT with. */
  get holding(): boolean {
    return this.waiting.length > 0;
  }

  /**
   * Writes the waiting versions (there must be some: `holding`) and one more INSERT (built with
   * `bind`) in the same statement, as a data-modifying CTE: a row that commits with the transaction
   * and that nothing reads back, the audit event of a write. One round trip fewer per write.
   */
  flushWith(insert: (bind: (value: unknown) => string) => string): Promise<void> {
    const versions = this.waiting;
    this.waiting = [];
    this.written = this.written.then(() => this.write(versions, insert));
    return this.written;
  }

  private async write(versions: NewVersion[], alongsideLast?: (bind: (value: unknown) => string) => string): Promise<void> {
    for (let i = 0; i < versions.length; i += CHUNK) {
      const chunk = versions.slice(i, i + CHUNK);
      const extra = alongsideLast && i + CHUNK >= versions.length ? alongsideLast : undefined;
      await this.indexer.writeFirstVersionRows(this.tx, chunk.map((v) => v.index), (bind) => [...firstVersionRows(bind, chunk), ...(extra ? [`written_alongside AS (${extra(bind)})`] : [])]);
    }
  }
}

/**
 * The current, history and change-log rows of new resources as data-modifying CTEs over one unnest
 * (one array per column). Change-log rows are numbered in the order given, the order of the creates.
 */
function firstVersionRows(bind: (value: unknown) => string, versions: NewVersion[]): string[] {
  const columns = [
    `${bind(versions.map((v) => v.resourceType))}::text[]`,
    `${bind(versions.map((v) => v.id))}::text[]`,
    `${bind(versions.map((v) => v.lastUpdated.toISOString()))}::timestamptz[]`,
    `${bind(versions.map((v) => v.content))}::text[]`,
  ];
  return [
    `created AS (SELECT * FROM unnest(${columns.join(', ')}) WITH ORDINALITY AS t(resource_type, id, last_updated, content, n))`,
    `created_current AS (INSERT INTO resources (resource_type, id, version_id, last_updated, deleted, content) SELECT resource_type, id, 1, last_updated, false, content FROM created)`,
    `created_history AS (INSERT INTO resource_history (resource_type, id, version_id, last_updated, deleted, interaction, content) SELECT resource_type, id, 1, last_updated, false, 'create', content FROM created)`,
    `created_change AS (INSERT INTO change_log (resource_type, id, version_id, interaction, changed_at) SELECT resource_type, id, 1, 'create', last_updated FROM created ORDER BY n)`,
  ];
}

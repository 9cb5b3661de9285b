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
  /** INSERTs to go in the statement that writes the waiting versions (holdWith). */
  private alongside: Insert[] = [];
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

  /**
   * Writes the waiting versions; a failure fails this and every later statement (the transaction is
   * aborted anyway). `last`: the transaction commits right after (QueryOptions.last).
   */
  flush(options?: { last?: boolean }): Promise<void> {
    if (this.waiting.length) {
      const versions = this.waiting;
      const alongside = this.alongside;
      this.waiting = [];
      this.alongside = [];
      this.written = this.written.then(() => this.write(versions, alongside, options?.last ?? false));
    }
    return this.written;
  }

  /** Whether creates are waiting: holdWith has something to send its INSERT with. */
  get holding(): boolean {
    return this.waiting.length > 0;
  }

  /**
   * One more INSERT (built with `bind`) for the statement that writes the waiting versions, as a
   * data-modifying CTE: a row that commits with the transaction and that nothing reads back, the
   * audit event of a write. It waits with them, so a create whose transaction does nothing else is
   * one statement, sent alone (flush with `last`).
   */
  holdWith(insert: Insert): void {
    if (!this.waiting.length) throw new Error('holdWith needs waiting creates to go with');
    this.alongside.push(insert);
  }

  private async write(versions: NewVersion[], alongside: Insert[], last: boolean): Promise<void> {
    for (let i = 0; i < versions.length; i += CHUNK) {
      const chunk = versions.slice(i, i + CHUNK);
      const final = i + CHUNK >= versions.length;
      const extra = final ? alongside : [];
      const sql: Queryable = final && last ? { query: (text, params, options) => this.tx.query(text, params, { ...options, last: true }) } : this.tx;
      await this.indexer.writeFirstVersionRows(sql, chunk.map((v) => v.index), (bind) => [...firstVersionRows(bind, chunk), ...extra.map((insert, n) => `written_alongside${n} AS (${insert(bind)})`)]);
    }
  }
}

type Insert = (bind: (value: unknown) => string) => string;

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

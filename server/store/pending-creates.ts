import type { Queryable } from './db.js';
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

/** New versions per pair of statements: bounds the arrays sent (unnest takes one parameter per column, so no parameter limit applies). */
const CHUNK = 1000;

/**
 * A transaction's connection that holds back the first versions created in it, so that a run of
 * creates (a transaction Bundle's POSTs) is written with two statements, one multi-row INSERT of the
 * current, history and change-log rows and one of every index row, instead of two per resource.
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

  async query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]> {
    await this.flush();
    return this.tx.query<T>(sql, params);
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

  private async write(versions: NewVersion[]): Promise<void> {
    for (let i = 0; i < versions.length; i += CHUNK) {
      const chunk = versions.slice(i, i + CHUNK);
      await insertFirstVersionRows(this.tx, chunk);
      await this.indexer.writeFirstVersionRows(this.tx, chunk.map((v) => v.index));
    }
  }
}

/**
 * The current, history and change-log rows of new resources in one statement (an unnest of one array
 * per column). Change-log rows are numbered in the order given, the order the creates were made.
 */
function insertFirstVersionRows(tx: Queryable, versions: NewVersion[]): Promise<unknown> {
  return tx.query(
    `WITH input AS (SELECT * FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::text[]) WITH ORDINALITY AS t(resource_type, id, last_updated, content, n)),
     r AS (INSERT INTO resources (resource_type, id, version_id, last_updated, deleted, content) SELECT resource_type, id, 1, last_updated, false, content FROM input),
     h AS (INSERT INTO resource_history (resource_type, id, version_id, last_updated, deleted, interaction, content) SELECT resource_type, id, 1, last_updated, false, 'create', content FROM input)
     INSERT INTO change_log (resource_type, id, version_id, interaction, changed_at) SELECT resource_type, id, 1, 'create', last_updated FROM input ORDER BY n`,
    [versions.map((v) => v.resourceType), versions.map((v) => v.id), versions.map((v) => v.lastUpdated.toISOString()), versions.map((v) => v.content)],
  );
}

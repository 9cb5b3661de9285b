import { randomUUID } from 'node:crypto';
import type { OperationOutcomeIssue, Resource } from '@medplum/fhirtypes';
import { preconditionFailed } from '../errors.js';
import type { Db, Queryable } from './db.js';
import { historyPage } from './history.js';
import { PendingCreates } from './pending-creates.js';
import { ReadBatch } from './read-batch.js';
import { readMany, toVersion, type Row } from './rows.js';
import type { HistoryPage, HistoryQuery, Interaction, ResourceIndexer, ResourceVersion, Store, WriteResult } from './store.js';
import { WrittenHere } from './written-here.js';

/** The Store on PostgreSQL or PGlite: same SQL for both. */
export class SqlStore implements Store {
  constructor(
    private readonly db: Db,
    private readonly indexer: ResourceIndexer,
    /** Set when this instance is bound to an open transaction: its connection, holding back the creates. */
    private readonly tx?: PendingCreates,
    readonly writtenHere?: WrittenHere,
  ) {
    this.reads = tx ? undefined : new ReadBatch(db);
  }

  /** Reads outside a transaction, gathered into one statement per turn of the event loop (read-batch.ts). */
  private readonly reads?: ReadBatch;

  /** Current rows this transaction read FOR UPDATE (readForUpdate) and has not written since. */
  private readonly locked = new Map<string, { version_id: number; deleted: boolean }>();

  get sql(): Queryable {
    return this.tx ?? this.db;
  }

  transaction<T>(fn: (store: Store) => Promise<T>): Promise<T> {
    if (this.tx) return fn(this);
    return this.db.transaction(async (tx) => {
      const pending = new PendingCreates(tx, this.indexer);
      const result = await fn(new SqlStore(this.db, this.indexer, pending, new WrittenHere()));
      await pending.flush({ last: true });
      return result;
    });
  }

  /** The rows are the same whoever writes them: who writes is the write rules' concern. */
  writingFor(): Store {
    return this;
  }

  /** Rows refuse nothing a valid resource holds: the checks are the guard's (profiles/write-guard.ts). */
  writeIssues(): Promise<OperationOutcomeIssue[]> {
    return Promise.resolve([]);
  }

  async read(resourceType: string, id: string): Promise<ResourceVersion | undefined> {
    // In a transaction, on its connection, which may hold what it wrote; prepared, as it is hot.
    const row = this.reads
      ? await this.reads.read(resourceType, id)
      : (await this.sql.query<Row>('SELECT * FROM resources WHERE resource_type = $1 AND id = $2', [resourceType, id], { prepared: true }))[0];
    return row && toVersion(row);
  }

  async readForUpdate(resourceType: string, id: string): Promise<ResourceVersion | undefined> {
    if (!this.tx) return this.read(resourceType, id);
    const rows = await this.sql.query<Row>('SELECT * FROM resources WHERE resource_type = $1 AND id = $2 FOR UPDATE', [resourceType, id], { prepared: true });
    if (rows[0]) this.locked.set(lockKey(resourceType, id), { version_id: rows[0].version_id, deleted: rows[0].deleted });
    return rows[0] && toVersion(rows[0]);
  }

  readMany(refs: Array<{ resourceType: string; id: string }>): Promise<ResourceVersion[]> {
    return readMany(this.sql, refs);
  }

  async vread(resourceType: string, id: string, versionId: number): Promise<ResourceVersion | undefined> {
    const rows = await this.sql.query<Row>(
      'SELECT * FROM resource_history WHERE resource_type = $1 AND id = $2 AND version_id = $3',
      [resourceType, id, versionId],
      { prepared: true },
    );
    return rows[0] && toVersion(rows[0]);
  }

  /**
   * The new version waits in the transaction to be written with the creates around it (see
   * PendingCreates); an id already taken fails the transaction with PostgreSQL's unique violation
   * when it is written, as a single INSERT would.
   */
  create(resource: Resource, id: string = randomUUID()): Promise<WriteResult> {
    return this.transaction(async (store) => {
      const self = store as SqlStore;
      const now = new Date();
      const stored = stamp({ ...resource, id }, 1, now);
      const content = JSON.stringify(stored);
      // Extracted before it waits: a SearchParameter's registration flushes the creates before it, not itself.
      const index = await self.indexer.firstVersionRows(self.sql, stored);
      self.tx!.add({ resourceType: stored.resourceType, id, lastUpdated: now, content, index });
      self.writtenHere!.noteCreate(stored);
      return { resourceType: stored.resourceType, id, versionId: 1, lastUpdated: now, deleted: false, content, created: true, resource: stored };
    });
  }

  update(resource: Resource & { id: string }, ifMatch?: number): Promise<WriteResult> {
    return this.transaction(async (store) => {
      const self = store as SqlStore;
      for (;;) {
        const current = await self.lockCurrent(resource.resourceType, resource.id);
        if (ifMatch !== undefined && (!current || current.version_id !== ifMatch || current.deleted)) {
          throw preconditionFailed(`If-Match version ${ifMatch} does not match the current version ${current && !current.deleted ? current.version_id : '(none)'}`);
        }
        if (!current) {
          const created = await self.writeVersion(resource, 1, 'create-or-skip');
          if (created) return created;
          continue; // another transaction created the same id first; its row is committed now, so lock it and update.
        }
        return (await self.writeVersion(resource, current.version_id + 1, 'update')) as WriteResult;
      }
    });
  }

  delete(resourceType: string, id: string, ifMatch?: number): Promise<ResourceVersion | undefined> {
    return this.transaction(async (store) => {
      const self = store as SqlStore;
      const current = await self.lockCurrent(resourceType, id);
      if (ifMatch !== undefined && (!current || current.version_id !== ifMatch || current.deleted)) {
        throw preconditionFailed(`If-Match version ${ifMatch} does not match the current version`);
      }
      if (!current || current.deleted) return undefined;
      const versionId = current.version_id + 1;
      const now = new Date();
      // The row is locked, so the UPDATE finds it: the deletion's rows go in the statement that removes its index rows.
      self.locked.delete(lockKey(resourceType, id));
      await self.indexer.remove(self.sql, resourceType, id, (bind) => versionRows(bind, { kind: 'delete', resourceType, id, versionId, now, content: null }));
      self.writtenHere?.noteDelete(resourceType, id);
      return { resourceType, id, versionId, lastUpdated: now, deleted: true };
    });
  }

  history(query: HistoryQuery): Promise<HistoryPage> {
    return historyPage(this.sql, query);
  }

  private async lockCurrent(resourceType: string, id: string): Promise<{ version_id: number; deleted: boolean } | undefined> {
    // Locked by readForUpdate in this transaction and not written since: nobody else can have changed it.
    const held = this.locked.get(lockKey(resourceType, id));
    if (held) return held;
    const rows = await this.sql.query<{ version_id: number; deleted: boolean }>(
      'SELECT version_id, deleted FROM resources WHERE resource_type = $1 AND id = $2 FOR UPDATE',
      [resourceType, id],
      { prepared: true },
    );
    return rows[0];
  }

  private async writeVersion(resource: Resource & { id: string }, versionId: number, kind: RowWrite): Promise<WriteResult | undefined> {
    const now = new Date();
    const stored = stamp(resource, versionId, now);
    const content = JSON.stringify(stored);
    const version = { kind, resourceType: stored.resourceType, id: stored.id, versionId, now, content };
    this.locked.delete(lockKey(stored.resourceType, stored.id));
    if (kind === 'update') {
      // The row is locked, so the UPDATE finds it: its rows go in the statement of its index rows.
      await this.indexer.index(this.sql, stored, (bind) => versionRows(bind, version));
    } else {
      if (!(await this.writeRow(version))) return undefined;
      await this.indexer.index(this.sql, stored);
    }
    this.writtenHere?.noteUpdate(stored);
    return { resourceType: stored.resourceType, id: stored.id, versionId, lastUpdated: now, deleted: false, content, created: kind !== 'update', resource: stored };
  }

  /**
   * The version's rows in one statement of their own; false when a create-or-skip found the id
   * taken (so no index rows may follow).
   */
  private async writeRow(version: VersionRow): Promise<boolean> {
    const params: unknown[] = [];
    const ctes = versionRows((value) => `$${params.push(value)}`, version);
    return (await this.sql.query(`WITH ${ctes.join(',\n')} SELECT id FROM version_current`, params, { prepared: true })).length > 0;
  }
}

/** A version as versionRows writes it; `content` null for a deletion. */
interface VersionRow {
  kind: RowWrite;
  resourceType: string;
  id: string;
  versionId: number;
  now: Date;
  content: string | null;
}

/**
 * The current row, the history row and the change-log (outbox) row of a version as data-modifying
 * CTEs of one statement; `version_current` returns the id when the current row was written.
 */
function versionRows(bind: (value: unknown) => string, v: VersionRow): string[] {
  const logged: Interaction = v.kind === 'create-or-skip' ? 'create' : v.kind;
  const [type, id, versionId, at, deleted, content, interaction] = [v.resourceType, v.id, v.versionId, v.now, v.content === null, v.content, logged].map(bind);
  const current =
    v.kind === 'create-or-skip'
      ? `INSERT INTO resources (resource_type, id, version_id, last_updated, deleted, content) VALUES (${type}, ${id}, ${versionId}::int, ${at}::timestamptz, ${deleted}::boolean, ${content}) ON CONFLICT DO NOTHING RETURNING id`
      : `UPDATE resources SET version_id = ${versionId}::int, last_updated = ${at}::timestamptz, deleted = ${deleted}::boolean, content = ${content} WHERE resource_type = ${type} AND id = ${id} RETURNING id`;
  return [
    `version_current AS (${current})`,
    `version_history AS (INSERT INTO resource_history (resource_type, id, version_id, last_updated, deleted, interaction, content) SELECT ${type}, ${id}, ${versionId}::int, ${at}::timestamptz, ${deleted}::boolean, ${interaction}, ${content} FROM version_current)`,
    `version_change AS (INSERT INTO change_log (resource_type, id, version_id, interaction, changed_at) SELECT ${type}, ${id}, ${versionId}::int, ${interaction}, ${at}::timestamptz FROM version_current)`,
  ];
}

const lockKey = (resourceType: string, id: string): string => `${resourceType}/${id}`;

/** How a version reaches the current-row table. */
type RowWrite = 'create-or-skip' | 'update' | 'delete';

/** Sets meta.versionId and meta.lastUpdated, keeping the rest of meta (profile, tag, security, source). */
function stamp(resource: Resource & { id: string }, versionId: number, now: Date): Resource & { id: string } {
  const { resourceType, id, meta, ...rest } = resource;
  return { resourceType, id, meta: { ...meta, versionId: String(versionId), lastUpdated: now.toISOString() }, ...rest } as Resource & { id: string };
}

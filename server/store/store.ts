import type { OperationOutcomeIssue, Resource } from '@medplum/fhirtypes';
import type { Queryable } from './db.js';
import type { WrittenHere } from './written-here.js';

/** One stored version of a resource. `content` is the JSON text exactly as served (absent when deleted). */
export interface ResourceVersion {
  resourceType: string;
  id: string;
  versionId: number;
  lastUpdated: Date;
  deleted: boolean;
  content?: string;
}

export interface WriteResult extends ResourceVersion {
  /** true when this write brought the resource into existence (201), false for a new version (200). */
  created: boolean;
  resource: Resource;
}

export type Interaction = 'create' | 'update' | 'delete';

export interface HistoryQuery {
  resourceType?: string;
  id?: string;
  /** _since: versions last updated at or after this instant. */
  since?: Date;
  /** _at: versions that were current at some point in [from, to). */
  at?: { from: Date; to: Date };
  count: number;
  /** Opaque keyset cursor from a previous page. */
  cursor?: string;
  /**
   * Only versions of resources the caller may read: a SQL condition on the current row aliased
   * `r` (bind adds a parameter and returns its placeholder). Set by the access layer.
   */
  visible?: (bind: (value: unknown) => string, r: string) => string;
}

export interface HistoryPage {
  versions: ResourceVersion[];
  total: number;
  nextCursor?: string;
}

/** The index rows of one resource as the indexer extracted them: the store only carries them back to it. */
export interface ExtractedIndexRows {
  readonly resourceType: string;
  readonly id: string;
}

/** More data-modifying CTEs (`name AS (...)`) for a statement, their values bound with `bind`. */
export type Alongside = (bind: (value: unknown) => string) => string[];

/**
 * Writes the search index rows of a resource inside the write's transaction.
 * The search capability implements it; the store only calls it.
 */
export interface ResourceIndexer {
  /**
   * Replaces the resource's index rows. `alongside`: the store's own data-modifying CTEs for the
   * same statement (as in writeFirstVersionRows), so that an update is one statement.
   */
  index(tx: Queryable, resource: Resource, alongside?: Alongside): Promise<void>;
  /** The index rows alone: a stored SearchParameter is not registered (for a restore that is rolled back). */
  indexRows(tx: Queryable, resource: Resource): Promise<void>;
  /**
   * The index rows of a new resource (its first version), extracted now, with the search parameters
   * known now, for writeFirstVersionRows to write later with those of other new resources. Whatever
   * else indexing a resource does happens now too (a SearchParameter is registered).
   */
  firstVersionRows(tx: Queryable, resource: Resource): Promise<ExtractedIndexRows>;
  /**
   * Writes the index rows of many first versions with one statement of multi-row INSERTs, into which
   * the store puts its own (`alongside`: more data-modifying CTEs, `name AS (...)`, whose values are
   * bound with `bind`), so that a batch of creates is one statement.
   */
  writeFirstVersionRows(tx: Queryable, rows: ExtractedIndexRows[], alongside?: Alongside): Promise<void>;
  /** Deletes the resource's index rows; `alongside` as for index. */
  remove(tx: Queryable, resourceType: string, id: string, alongside?: Alongside): Promise<void>;
}

/**
 * The client a write is made for, as authentication names it (server/auth's Principal is one). The
 * store stack carries it down to the write rules that judge who writes (a slot's booking
 * restriction, a referral's parties); the rows do not record it.
 */
export interface Writer {
  clientId: string;
  /** ODS code of the member organisation it acts for, e.g. FA123 (https://fhir.nhs.uk/Id/ods-organization-code). */
  org: string;
  kind: string;
}

/**
 * The store seam: every interaction of https://hl7.org/fhir/R4/http.html that touches data.
 * Each write is one database transaction: current row, history row, search index rows, change-log row.
 */
export interface Store {
  /**
   * This store with its writes made for `writer` (undefined: the hub's own). A request's store is
   * built on it (server/store-stack.ts), so every write path carries its client without a global.
   */
  writingFor(writer: Writer | undefined): Store;
  /**
   * What a create or update of this resource through this store would be refused for (422), beyond
   * the resource's own validity: required profiles and business rules. $validate in a write mode asks.
   */
  writeIssues(resource: Resource): Promise<OperationOutcomeIssue[]>;
  /** Current version, deleted or not: https://hl7.org/fhir/R4/http.html#read */
  read(resourceType: string, id: string): Promise<ResourceVersion | undefined>;
  /**
   * As read, with the current row locked until the transaction ends (inside one): a check made on
   * it still holds when the update or delete that follows writes, and that write takes its lock
   * from here rather than reading the row again.
   */
  readForUpdate(resourceType: string, id: string): Promise<ResourceVersion | undefined>;
  /** The current (live) versions of these resources, those held; in no particular order. */
  readMany(refs: Array<{ resourceType: string; id: string }>): Promise<ResourceVersion[]>;
  /** One version: https://hl7.org/fhir/R4/http.html#vread */
  vread(resourceType: string, id: string, versionId: number): Promise<ResourceVersion | undefined>;
  /**
   * Server-assigned id: https://hl7.org/fhir/R4/http.html#create. A caller that chose a fresh id
   * up front (a transaction rewriting urn:uuid references) passes it; it must be unused.
   */
  create(resource: Resource, id?: string): Promise<WriteResult>;
  /** Update, or update-as-create for a new id; ifMatch is the expected current version: https://hl7.org/fhir/R4/http.html#update */
  update(resource: Resource & { id: string }, ifMatch?: number): Promise<WriteResult>;
  /** Returns the deletion version, or undefined if there was nothing to delete: https://hl7.org/fhir/R4/http.html#delete */
  delete(resourceType: string, id: string, ifMatch?: number): Promise<ResourceVersion | undefined>;
  /** https://hl7.org/fhir/R4/http.html#history */
  history(query: HistoryQuery): Promise<HistoryPage>;
  /** Runs fn with a store bound to one database transaction (nested calls join the outer one). */
  transaction<T>(fn: (store: Store) => Promise<T>): Promise<T>;
  /** The connection this store runs on (the transaction's, inside `transaction`), for search. */
  readonly sql: Queryable;
  /** Inside `transaction`: what it has written so far (write rules answer from it instead of reading back). */
  readonly writtenHere?: WrittenHere;
}

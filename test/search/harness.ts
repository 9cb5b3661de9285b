import type { Bundle, Resource } from '@medplum/fhirtypes';
import { fixture } from '../support/examples.js';
import type { Db } from '../../server/store/db.js';
import { openDb } from '../../server/store/open-db.js';
import { migrate } from '../../server/store/migrate.js';
import { SqlStore } from '../../server/store/resource-store.js';
import { withAuditTrailSearch } from '../../server/audit/trail-search.js';
import { createSearchEngine } from '../../server/search/engine.js';
import type { SearchEngine } from '../../server/search/search.js';

export const BASE = 'http://x/fhir';

/** One embedded database, engine and store per test file: PGlite takes seconds to start. */
export interface Harness {
  db: Db;
  engine: SearchEngine;
  store: SqlStore;
  /** Runs a type (or system, when type is undefined) search; lenient unless strict is set. */
  search(type: string | undefined, query: string, strict?: boolean): Promise<Bundle>;
  /** Ids of the match entries of a search, sorted, for set comparisons. */
  ids(type: string, query: string): Promise<string[]>;
  create<T extends Resource>(resource: T): Promise<T & { id: string }>;
}

let engine: SearchEngine | undefined;

export async function openHarness(options: { defaultCount?: number; maxCount?: number } = {}): Promise<Harness> {
  const db = await openDb({ dataDir: 'memory://' });
  await migrate(db);
  // Loading the R4 definitions takes a second; share the engine when the limits are the defaults.
  const limits = { defaultCount: options.defaultCount ?? 20, maxCount: options.maxCount ?? 100 };
  // As the server wires it: AuditEvents are searched in the audit trail's own table.
  const e = options.defaultCount || options.maxCount ? withAuditTrailSearch(createSearchEngine(limits), limits) : (engine ??= withAuditTrailSearch(createSearchEngine(limits), limits));
  const store = new SqlStore(db, e);
  const search = (type: string | undefined, query: string, strict = false): Promise<Bundle> =>
    e.search({ sql: db, baseUrl: BASE, strict }, type, new URLSearchParams(query));
  return {
    db,
    engine: e,
    store,
    search,
    async ids(type, query) {
      const bundle = await search(type, query);
      return (bundle.entry ?? []).filter((x) => x.search?.mode === 'match').map((x) => x.resource!.id!).sort();
    },
    async create<T extends Resource>(resource: T) {
      return (await store.create(resource)).resource as T & { id: string };
    },
  };
}

/** The small neighbourhood data set of fixtures/search: practices, a pharmacy, patients, care teams, prescriptions. */
export function neighbourhood(): (Resource & { id: string })[] {
  return (fixture<Bundle>('search/neighbourhood-collection.json').entry ?? []).map((e) => e.resource as Resource & { id: string });
}

/** Writes the fixtures with their own ids (update as create). */
export async function loadNeighbourhood(h: Harness): Promise<void> {
  for (const resource of neighbourhood()) await h.store.update(resource);
}

import { initValidator } from '../profiles/validator.js';
import type { Config } from './config.js';
import { createSearchEngine } from './search/engine.js';
import type { SearchEngine } from './search/search.js';
import { openDb, type Db } from './store/db.js';
import { migrate } from './store/migrate.js';
import { SqlStore } from './store/resource-store.js';
import type { Store } from './store/store.js';
import './rest/operations/index.js';

/** The parts of a running server, wired once: database, migrations, search index, store. */
export interface Services {
  config: Config;
  db: Db;
  store: Store;
  search: SearchEngine;
  close(): Promise<void>;
}

export async function openServices(config: Config): Promise<Services> {
  initValidator();
  const db = await openDb({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, poolSize: config.dbPoolSize, statementTimeoutMs: config.statementTimeoutMs });
  await migrate(db);
  const search = createSearchEngine({ defaultCount: config.defaultCount, maxCount: config.maxCount });
  const store = new SqlStore(db, search);
  return { config, db, store, search, close: () => db.close() };
}

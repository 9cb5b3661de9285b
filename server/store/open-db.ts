import type { Db, DbOptions } from './db.js';
import { openPostgres } from './pg-db.js';
import { openPglite } from './pglite-db.js';

/** PostgreSQL through pg when a URL is given, else embedded PGlite in dataDir. */
export async function openDb(options: DbOptions): Promise<Db> {
  if (options.databaseUrl) {
    return openPostgres(options.databaseUrl, options);
  }
  return openPglite(options.dataDir, options);
}

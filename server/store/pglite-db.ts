import { mkdirSync } from 'node:fs';
import { PGlite, types } from '@electric-sql/pglite';
import { pg_trgm } from '@electric-sql/pglite/contrib/pg_trgm';
import type { Db, DbOptions, Queryable } from './db.js';
import { timed } from './slow-query.js';

/** PostgreSQL compiled to WebAssembly, in-process: the embedded default. One session, so transactions are serialised. */
export async function openPglite(dataDir: string, options: DbOptions): Promise<Db> {
  if (dataDir !== 'memory://') mkdirSync(dataDir, { recursive: true });
  const db = await PGlite.create(dataDir, {
    parsers: { [types.INT8]: (v: string) => Number(v) },
    // Trigram index for search :contains (migration 004_search_trgm).
    extensions: { pg_trgm },
  });
  const on = (q: Pick<PGlite, 'query'>): Queryable['query'] =>
    timed(async <T>(sql: string, params?: unknown[]) => (await q.query<T>(sql, params)).rows, options) as Queryable['query'];
  return {
    kind: 'pglite',
    query: on(db),
    transaction: (fn) => db.transaction(async (t) => fn({ query: on(t) })),
    listen: (channel, onNotify) => db.listen(channel, () => onNotify()),
    async exec(sql) {
      await db.exec(sql);
    },
    async close() {
      await db.close();
    },
  };
}

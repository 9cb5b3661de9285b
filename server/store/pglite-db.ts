import { mkdirSync } from 'node:fs';
import { PGlite, types } from '@electric-sql/pglite';
import { pg_trgm } from '@electric-sql/pglite/contrib/pg_trgm';
import type { Db, DbOptions, Queryable } from './db.js';
import { timed } from './slow-query.js';
import { timestampText } from './timestamp-text.js';

/** PostgreSQL compiled to WebAssembly, in-process: the embedded default. One session, so transactions are serialised. */
export async function openPglite(dataDir: string, options: DbOptions): Promise<Db> {
  if (dataDir !== 'memory://') mkdirSync(dataDir, { recursive: true });
  const db = await PGlite.create(dataDir, {
    parsers: { [types.INT8]: (v: string) => Number(v) },
    // As PGlite's own, but past year 9999 too (a 9999 date's range ends there); pg writes those itself.
    serializers: Object.fromEntries([types.DATE, types.TIMESTAMP, types.TIMESTAMPTZ].map((oid) => [oid, timestampParam])),
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

/** A date or time parameter: text is sent as it is. */
function timestampParam(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || value instanceof Date) return timestampText(value);
  throw new Error(`Not a date or time: ${String(value)}`);
}

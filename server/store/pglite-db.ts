import { mkdirSync } from 'node:fs';
import { PGlite, types } from '@electric-sql/pglite';
import type { Db, Queryable } from './db.js';

/** PostgreSQL compiled to WebAssembly, in-process: the embedded default. One session, so transactions are serialised. */
export async function openPglite(dataDir: string): Promise<Db> {
  if (dataDir !== 'memory://') mkdirSync(dataDir, { recursive: true });
  const db = await PGlite.create(dataDir, {
    parsers: { [types.INT8]: (v: string) => Number(v) },
  });
  return {
    kind: 'pglite',
    query: async <T>(sql: string, params?: unknown[]) => (await db.query<T>(sql, params)).rows,
    transaction: (fn) =>
      db.transaction(async (t) => {
        const tx: Queryable = { query: async <T>(sql: string, params?: unknown[]) => (await t.query<T>(sql, params)).rows };
        return fn(tx);
      }),
    async exec(sql) {
      await db.exec(sql);
    },
    async close() {
      await db.close();
    },
  };
}

import pg from 'pg';
import type { Db, DbOptions, Queryable } from './db.js';
import { timed } from './slow-query.js';

// bigint (int8) comes back as a string by default; counts and sequence numbers fit a JS number.
pg.types.setTypeParser(20, (v) => Number(v));

export async function openPostgres(url: string, options: DbOptions): Promise<Db> {
  const pool = new pg.Pool({
    connectionString: url,
    max: options.poolSize ?? 20,
    ...(options.statementTimeoutMs ? { statement_timeout: options.statementTimeoutMs } : {}),
  });
  // An idle client losing its connection (database restart) must not crash the process.
  pool.on('error', () => undefined);
  const client = await pool.connect(); // fail fast on a bad URL
  client.release();
  const on = (q: pg.Pool | pg.PoolClient): Queryable['query'] =>
    timed(async <T>(sql: string, params?: unknown[]) => (await q.query(sql, params as unknown[])).rows as T[], options) as Queryable['query'];
  return {
    kind: 'postgres',
    query: on(pool),
    async transaction(fn) {
      const conn = await pool.connect();
      try {
        await conn.query('BEGIN');
        const result = await fn({ query: on(conn) });
        await conn.query('COMMIT');
        return result;
      } catch (err) {
        await conn.query('ROLLBACK').catch(() => undefined);
        throw err;
      } finally {
        conn.release();
      }
    },
    async exec(sql) {
      await pool.query(sql);
    },
    async close() {
      await pool.end();
    },
    poolStats: () => ({ total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount }),
  };
}

import pg from 'pg';
import type { Db, Queryable } from './db.js';

// bigint (int8) and numeric come back as strings by default; counts and sequence numbers fit a JS number.
pg.types.setTypeParser(20, (v) => Number(v));

export async function openPostgres(url: string, poolSize: number, statementTimeoutMs?: number): Promise<Db> {
  const pool = new pg.Pool({
    connectionString: url,
    max: poolSize,
    ...(statementTimeoutMs ? { statement_timeout: statementTimeoutMs } : {}),
  });
  const client = await pool.connect(); // fail fast on a bad URL
  client.release();
  const query = async <T>(sql: string, params?: unknown[]): Promise<T[]> => (await pool.query(sql, params as unknown[])).rows as T[];
  return {
    kind: 'postgres',
    query,
    async transaction(fn) {
      const conn = await pool.connect();
      const tx: Queryable = { query: async <T>(sql: string, params?: unknown[]) => (await conn.query(sql, params as unknown[])).rows as T[] };
      try {
        await conn.query('BEGIN');
        const result = await fn(tx);
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
  };
}

import { createHash } from 'node:crypto';
import pg from 'pg';
import type { Db, DbOptions, Queryable } from './db.js';
import { timed } from './slow-query.js';

// bigint (int8) comes back as a string by default; counts and sequence numbers fit a JS number.
pg.types.setTypeParser(20, (v) => Number(v));

export async function openPostgres(url: string, options: DbOptions): Promise<Db> {
  const pool = new pg.Pool({
    connectionString: url,
    max: options.poolSize ?? 20,
    // Sessions once opened stay open (as HikariCP's default keeps its minimum idle at the maximum):
    // closing them after 10 s idle made the next burst open new ones, with cold caches and none of
    // the statements prepared.
    min: options.poolSize ?? 20,
    ...(options.statementTimeoutMs ? { statement_timeout: options.statementTimeoutMs } : {}),
  });
  // An idle client losing its connection (database restart) must not crash the process.
  pool.on('error', () => undefined);
  const client = await pool.connect(); // fail fast on a bad URL
  client.release();
  const prepared = new PreparedNames();
  const on = (q: pg.Pool | pg.PoolClient): Queryable['query'] =>
    timed(async <T>(sql: string, params?: unknown[], queryOptions?: { prepared?: boolean }) => {
      const name = queryOptions?.prepared ? prepared.nameOf(sql) : undefined;
      return (await q.query({ text: sql, values: params as unknown[], ...(name ? { name } : {}) })).rows as T[];
    }, options) as Queryable['query'];
  return {
    kind: 'postgres',
    query: on(pool),
    async transaction(fn) {
      const conn = await pool.connect();
      const run = on(conn);
      // BEGIN goes just before the first statement, and not at all before a lone last one
      // (QueryOptions.last), which then commits by itself.
      let begun: Promise<unknown> | undefined;
      let alone = false;
      const tx: Queryable = {
        async query(sql, params, options) {
          if (alone) throw new Error('A statement after the last one of its transaction');
          if (!begun && options?.last) alone = true;
          else await (begun ??= conn.query('BEGIN'));
          return run(sql, params, options);
        },
      };
      try {
        const result = await fn(tx);
        if (begun) await conn.query('COMMIT');
        return result;
      } catch (err) {
        if (begun) await conn.query('ROLLBACK').catch(() => undefined);
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

/** At most this many statements are kept prepared on each connection: a bound on what the texts callers build can pin there. */
const MAX_PREPARED = 200;

/** Names of prepared statements (pg prepares a named statement once per connection): from the text, for the first MAX_PREPARED texts; later ones run unprepared. */
class PreparedNames {
  private readonly names = new Map<string, string>();

  nameOf(sql: string): string | undefined {
    const known = this.names.get(sql);
    if (known || this.names.size >= MAX_PREPARED) return known;
    const name = `p_${createHash('sha1').update(sql).digest('hex').slice(0, 24)}`;
    this.names.set(sql, name);
    return name;
  }
}

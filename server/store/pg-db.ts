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
    // No JIT compilation: it costs 20-30 ms per query once a plan's estimate passes jit_above_cost,
    // which an access policy's subqueries reach on searches that run in a few milliseconds.
    options: '-c jit=off',
  });
  // An idle client losing its connection (database restart) must not crash the process.
  pool.on('error', () => undefined);
  const client = await pool.connect(); // fail fast on a bad URL
  client.release();
  const prepared = new PreparedNames();
  const on = (q: pg.Pool | pg.PoolClient): Queryable['query'] =>
    timed(async <T>(sql: string, params?: unknown[], queryOptions?: { prepared?: boolean }) => {
      const name = queryOptions?.prepared ? prepared.nameOf(sql) : undefined;
      return (await submit(q, sql, params, name)).rows as T[];
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

type Submit = (query: pg.Query, callback: (err: Error | undefined, result: pg.QueryResult) => void) => void;

/**
 * Runs a statement, named when it is prepared. The query is built from its text, not from a config
 * object: pg copies a config object through its property descriptors first (utils.js
 * cloneQueryConfig), about 2 µs a statement, 2% of a read's CPU. A pool and a client both take a
 * query object with a callback; the pool's releases the connection before calling ours.
 */
function submit(on: pg.Pool | pg.PoolClient, text: string, values: unknown[] | undefined, name: string | undefined): Promise<pg.QueryResult> {
  const query = new pg.Query(text, values);
  // A name makes pg parse the statement once per connection (Query.requiresPreparation).
  if (name) (query as pg.Query & { name?: string }).name = name;
  return new Promise((resolve, reject) => (on.query as unknown as Submit).call(on, query, (err, result) => (err ? reject(err) : resolve(result))));
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

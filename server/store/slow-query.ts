import type { DbOptions, QueryOptions } from './db.js';

/** Wraps a query function so statements slower than the configured threshold are reported. */
export function timed<F extends (sql: string, params?: unknown[], queryOptions?: QueryOptions) => Promise<unknown>>(query: F, options: DbOptions): F {
  const threshold = options.slowQueryMs ?? 0;
  const report = options.onSlowQuery;
  if (!threshold || !report) return query;
  return (async (sql: string, params?: unknown[], queryOptions?: QueryOptions) => {
    const start = performance.now();
    try {
      return await query(sql, params, queryOptions);
    } finally {
      const ms = performance.now() - start;
      if (ms >= threshold) report(sql, ms);
    }
  }) as F;
}

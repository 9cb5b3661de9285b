/**
 * Search on a generated neighbourhood: loads N resources (default 100,000) into PostgreSQL through
 * the store (so the index rows are the real ones), then for each typical search prints the plan's
 * sequential scans (there should be none on the big tables) and latency, alone and at 8 connections.
 *
 *   DATABASE_URL=postgres://user:pw@host:port/db npx tsx bench/search-explain.ts [size]
 */
import type { Resource } from '@medplum/fhirtypes';
import { openDb } from '../server/store/open-db.js';
import { migrate } from '../server/store/migrate.js';
import { SqlStore } from '../server/store/resource-store.js';
import { createSearchEngine } from '../server/search/engine.js';
import { generateNeighbourhood } from './search-data.js';
import { explainSearch, typicalSearches } from './search-queries.js';

const size = Number(process.argv[2] ?? 100_000);
const url = process.env.DATABASE_URL;
if (!url) throw new Error('Set DATABASE_URL to a PostgreSQL database (the benchmark is for the production path, not PGlite)');
const BASE = 'http://bench/fhir';
const CONNECTIONS = 8;



function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

async function main(): Promise<void> {
  const db = await openDb({ databaseUrl: url, dataDir: '', poolSize: CONNECTIONS + 2 });
  await migrate(db);
  const engine = createSearchEngine({ defaultCount: 20, maxCount: 100 });
  const store = new SqlStore(db, engine);
  const { resources, probes } = generateNeighbourhood(size);

  const [{ n }] = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM resources');
  if (n < resources.length) {
    console.log(`loading ${resources.length - n} of ${resources.length} resources...`);
    const started = Date.now();
    let done = n;
    const queue = resources.slice(n);
    await Promise.all(
      Array.from({ length: CONNECTIONS }, async () => {
        for (let r = queue.shift(); r; r = queue.shift()) {
          await store.update(r as Resource & { id: string });
          if (++done % 10_000 === 0) console.log(`  ${done} (${Math.round((done - n) / ((Date.now() - started) / 1000))}/s)`);
        }
      }),
    );
    await db.query('ANALYZE');
  }
  const [{ rows }] = await db.query<{ rows: number }>(
    `SELECT (SELECT count(*) FROM search_string) + (SELECT count(*) FROM search_token) + (SELECT count(*) FROM search_date) + (SELECT count(*) FROM search_reference)::int AS rows`,
  );
  console.log(`${resources.length} resources, ${rows} index rows\n`);

  console.log('| search | matches | seq scans | p50 ms | p99 ms | p99 ms @8 conns |');
  console.log('| --- | --- | --- | --- | --- | --- |');
  for (const { type, query } of typicalSearches(probes)) {
    const { matches, seqScans } = await explainSearch(db, engine, type, query);
    const run = (): Promise<unknown> => engine.search({ sql: db, baseUrl: BASE, strict: true }, type, new URLSearchParams(query));
    for (let i = 0; i < 20; i++) await run();
    const alone: number[] = [];
    for (let i = 0; i < 200; i++) {
      const t = performance.now();
      await run();
      alone.push(performance.now() - t);
    }
    const loaded: number[] = [];
    await Promise.all(
      Array.from({ length: CONNECTIONS }, async () => {
        for (let i = 0; i < 50; i++) {
          const t = performance.now();
          await run();
          loaded.push(performance.now() - t);
        }
      }),
    );
    alone.sort((a, b) => a - b);
    loaded.sort((a, b) => a - b);
    console.log(`| ${type}?${decodeURIComponent(query)} | ${matches} | ${seqScans.join(', ') || 'none'} | ${percentile(alone, 50).toFixed(1)} | ${percentile(alone, 99).toFixed(1)} | ${percentile(loaded, 99).toFixed(1)} |`);
  }
  await db.close();
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});

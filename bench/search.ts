import pg from 'pg';
import { openDb } from '../server/store/open-db.js';
import { migrate } from '../server/store/migrate.js';
import { createSearchEngine } from '../server/search/engine.js';
import { generateNeighbourhood } from './search-data.js';
import { loadResources } from './search-load.js';
import { explainSearch, typicalSearches } from './search-queries.js';
import { benchPostgres, load, printTable, startChild } from './support.js';

const CONNECTIONS = 8;

/** A database per data set size on the benchmark PostgreSQL, kept if it exists (a rerun against DATABASE_URL resumes). */
async function databaseFor(adminUrl: string, size: number): Promise<string> {
  const name = `bench_search_${size}`;
  const admin = new pg.Client(adminUrl);
  await admin.connect();
  try {
    const { rowCount } = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (!rowCount) await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

interface Measured {
  search: string;
  kind: string;
  matches: number;
  seqScans: string;
  rps: number;
  p50: number;
  p99: number;
  failed: number;
}

async function measureSize(adminUrl: string, size: number, seconds: number): Promise<{ loadSeconds: number; rows: Measured[] }> {
  const url = await databaseFor(adminUrl, size);
  const { resources, probes } = generateNeighbourhood(size);
  const db = await openDb({ databaseUrl: url, dataDir: '', poolSize: CONNECTIONS + 2 });
  const engine = createSearchEngine({ defaultCount: 20, maxCount: 1000 });
  let loadSeconds: number;
  const explained = new Map<string, { matches: number; seqScans: string[] }>();
  const searches = typicalSearches(probes);
  try {
    await migrate(db);
    console.error(`search bench: loading ${resources.length} resources...`);
    loadSeconds = await loadResources(db, engine, resources, CONNECTIONS);
    for (const s of searches) explained.set(s.query, await explainSearch(db, engine, s.type, s.query));
  } finally {
    await db.close();
  }
  const server = await startChild('server/main.ts', { DATABASE_URL: url, DB_POOL_SIZE: String(CONNECTIONS * 2) }, '/fhir/metadata');
  const rows: Measured[] = [];
  try {
    const pathOf = (s: { type: string; query: string }): string => `/fhir/${s.type}?${s.query.replace(/\|/g, '%7C')}`;
    // A fresh process compiles its code paths on the first requests: warm every search before timing any.
    for (const s of searches) await load('warm-up', { url: server.url + pathOf(s), connections: CONNECTIONS, duration: 1 });
    for (const s of searches) {
      const path = pathOf(s);
      const r = await load(s.query, { url: server.url + path, connections: CONNECTIONS, duration: seconds });
      const e = explained.get(s.query)!;
      rows.push({ search: `${s.type}?${decodeURIComponent(s.query)}`, kind: s.kind, matches: e.matches, seqScans: e.seqScans.join(', ') || 'none', rps: r.rps, p50: r.p50, p99: r.p99, failed: r.errors + r.non2xx });
    }
  } finally {
    await server.stop();
  }
  return { loadSeconds, rows };
}

/**
 * Issue 3 benchmark: the typical neighbourhood searches through the HTTP server at 8 connections,
 * on generated data sets of 10k and 100k resources (and 1M with --full), each in its own database of
 * a private PostgreSQL; EXPLAIN shows no sequential scan; the last table is the growth in p99.
 */
export async function runSearchBenchmark(options: { full?: boolean; seconds?: number } = {}): Promise<void> {
  const sizes = options.full ? [10_000, 100_000, 1_000_000] : [10_000, 100_000];
  const seconds = options.seconds ?? 5;
  const pgServer = await benchPostgres();
  const results = new Map<number, Measured[]>();
  try {
    for (const size of sizes) {
      const { loadSeconds, rows } = await measureSize(pgServer.url, size, seconds);
      results.set(size, rows);
      printTable(
        `Search, ${size.toLocaleString('en-GB')} resources, ${CONNECTIONS} connections over HTTP, local PostgreSQL (load ${loadSeconds ? `${Math.round(loadSeconds)} s, ${Math.round(size / loadSeconds)}/s` : 'reused'})`,
        rows.map((r) => ({ search: r.search.replace(/\|/g, '\\|'), matches: r.matches, 'seq scans': r.seqScans, 'req/s': r.rps, 'p50 ms': r.p50, 'p99 ms': r.p99, 'errors+non2xx': r.failed })),
      );
    }
    const smallest = results.get(sizes[0])!;
    const largest = results.get(sizes[sizes.length - 1])!;
    printTable(
      `Growth of p99 from ${sizes[0].toLocaleString('en-GB')} to ${sizes[sizes.length - 1].toLocaleString('en-GB')} resources (target < 2×; p99 < 20 ms for token and reference at 1M)`,
      smallest.map((r, i) => ({
        search: r.search.replace(/\|/g, '\\|'),
        kind: r.kind,
        [`p99 ms @${sizes[0] / 1000}k`]: r.p99,
        [`p99 ms @${sizes[sizes.length - 1] / 1000}k`]: largest[i].p99,
        growth: `${(largest[i].p99 / Math.max(r.p99, 1)).toFixed(2)}×`,
      })),
    );
  } finally {
    pgServer.stop();
  }
}

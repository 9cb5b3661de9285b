/**
 * Search on a generated neighbourhood: loads N resources (default 100,000) into PostgreSQL through
 * the store (so the index rows are the real ones), then for each typical search prints the plan's
 * sequential scans (there should be none on the big tables) and latency, alone and at 8 connections.
 *
 *   DATABASE_URL=postgres://user:pw@host:port/db npx tsx bench/search-explain.ts [size]
 */
import type { Resource } from '@medplum/fhirtypes';
import type { Queryable } from '../server/store/db.js';
import { openDb } from '../server/store/open-db.js';
import { migrate } from '../server/store/migrate.js';
import { SqlStore } from '../server/store/resource-store.js';
import { createSearchEngine } from '../server/search/engine.js';
import { generateNeighbourhood } from './search-data.js';

const size = Number(process.argv[2] ?? 100_000);
const url = process.env.DATABASE_URL;
if (!url) throw new Error('Set DATABASE_URL to a PostgreSQL database (the benchmark is for the production path, not PGlite)');
const BASE = 'http://bench/fhir';
const CONNECTIONS = 8;

type Plan = { 'Node Type': string; 'Relation Name'?: string; Plans?: Plan[] };

function seqScans(plan: Plan, out: string[] = []): string[] {
  if (plan['Node Type'] === 'Seq Scan') out.push(plan['Relation Name'] ?? '?');
  for (const child of plan.Plans ?? []) seqScans(child, out);
  return out;
}

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

  const searches: [string, string][] = [
    ['Patient', `identifier=https://fhir.nhs.uk/Id/nhs-number|${probes.nhsNumber}`],
    ['Patient', `family=${encodeURIComponent(probes.family)}&_count=20`],
    ['Patient', 'birthdate=ge1980-03-01&birthdate=le1980-03-31'],
    ['CareTeam', `participant=Practitioner/${probes.practitionerId}&_include=CareTeam:subject`],
    ['CareTeam', `patient=Patient/${probes.patientId}&status=active&participant-role=http://snomed.info/sct|768820003`],
    ['MedicationRequest', `requester=Practitioner/${probes.pharmacistId}&status=active&_sort=-authoredon`],
    ['MedicationRequest', `intended-performer=Organization/${probes.pharmacyId}&status=active&_sort=-authoredon&_total=none`],
    ['MedicationRequest', `subject:Patient.identifier=https://fhir.nhs.uk/Id/nhs-number|${probes.nhsNumber}`],
    ['Patient', `_has:MedicationRequest:subject:requester=Practitioner/${probes.pharmacistId}&_count=10`],
  ];

  console.log('| search | matches | seq scans | p50 ms | p99 ms | p99 ms @8 conns |');
  console.log('| --- | --- | --- | --- | --- | --- |');
  for (const [type, query] of searches) {
    const captured: { sql: string; params: unknown[] }[] = [];
    const spy: Queryable = {
      query: <T>(sql: string, params?: unknown[]) => {
        captured.push({ sql, params: params ?? [] });
        return db.query<T>(sql, params);
      },
    };
    const bundle = await engine.search({ sql: spy, baseUrl: BASE, strict: true }, type, new URLSearchParams(query));
    const scans: string[] = [];
    for (const { sql, params } of captured) {
      if (!/^\s*(SELECT|WITH)/i.test(sql)) continue;
      const [row] = await db.query<{ 'QUERY PLAN': { Plan: Plan }[] }>(`EXPLAIN (FORMAT JSON) ${sql}`, params);
      scans.push(...seqScans(row['QUERY PLAN'][0].Plan));
    }
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
    const matches = bundle.total ?? bundle.entry?.filter((e) => e.search?.mode === 'match').length;
    console.log(`| ${type}?${decodeURIComponent(query)} | ${matches} | ${scans.join(', ') || 'none'} | ${percentile(alone, 50).toFixed(1)} | ${percentile(alone, 99).toFixed(1)} | ${percentile(loaded, 99).toFixed(1)} |`);
  }
  await db.close();
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});

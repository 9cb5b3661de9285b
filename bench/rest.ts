import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { secretToken } from '../scripts/client-http.js';
import { benchPostgres, cpuSeconds, load, postgresCpuSeconds, printTable, startChild, type Child, type LoadResult } from './support.js';

/** Patient i of a layout: identifier and family its own (the layouts share one database), so each search finds one patient (x…x: no family a prefix of another, as string search matches prefixes). */
const patient = (layout: string, i: number) => ({
  resourceType: 'Patient',
  identifier: [{ system: 'https://fhir.nhs.uk/Id/nhs-number', value: `${layout}${i}` }],
  name: [{ family: `Okafor${layout}x${i}x`, given: ['Ada'] }],
  gender: 'female',
  birthDate: '1956-03-14',
});
const jsonType = { 'content-type': 'application/fhir+json' };

/** One scenario spread over the API processes: 16 connections in all, split between them, results summed. */
async function spreadLoad(name: string, servers: Child[], seconds: number, options: (server: Child, n: () => number) => Parameters<typeof load>[1]): Promise<LoadResult> {
  let n = 0;
  const parts = await Promise.all(servers.map((s) => load(name, { duration: seconds, ...options(s, () => n++), connections: Math.max(1, Math.round(16 / servers.length)) })));
  return {
    name,
    total: parts.reduce((a, p) => a + p.total, 0),
    rps: parts.reduce((a, p) => a + p.rps, 0),
    p50: Math.max(...parts.map((p) => p.p50)),
    p99: Math.max(...parts.map((p) => p.p99)),
    errors: parts.reduce((a, p) => a + p.errors, 0),
    non2xx: parts.reduce((a, p) => a + p.non2xx, 0),
  };
}

/** A scenario's result with the CPU it cost: API processes and PostgreSQL together, in ms per request. */
type Measured = LoadResult & { cpuMs: number };

async function measured(databaseUrl: string, servers: Child[], run: () => Promise<LoadResult>): Promise<Measured> {
  const cpu = (): number => postgresCpuSeconds(databaseUrl) + servers.reduce((a, s) => a + cpuSeconds(s.process.pid!), 0);
  const before = cpu();
  const result = await run();
  return { ...result, cpuMs: (1000 * (cpu() - before)) / Math.max(1, result.total) };
}

/**
 * Environment of a layout with authentication on: every request carries the administrator's bearer
 * token; no rate limit, as for one busy client; a token that outlives the rounds (5 minutes, the
 * default, is shorter than three).
 */
function withTokens(): Record<string, string> {
  return { AUTH_DISABLED: 'false', RATE_LIMIT_PER_MINUTE: '0', ACCESS_TOKEN_TTL_SECONDS: '7200', ADMIN_CREDENTIALS_FILE: path.join(mkdtempSync(path.join(tmpdir(), 'hub-bench-')), 'admin-client.json') };
}

/** One deployment under test: its API processes, the administrator's token if it has one, and the 200 patients it wrote. */
interface Layout {
  servers: Child[];
  auth: Record<string, string>;
  ids: string[];
  /** This layout's own identifiers and families (the layouts share one database). */
  tag: string;
}

async function startLayout(databaseUrl: string, processes: number, env: Record<string, string> = {}): Promise<Layout> {
  // Workers stay out of the API processes, as in the production layout (npm run worker beside them).
  const servers = await Promise.all(Array.from({ length: processes }, () => startChild('server/main.ts', { DATABASE_URL: databaseUrl, RUN_WORKERS: 'false', LOG_LEVEL: 'warn', ...env }, '/fhir/metadata')));
  let auth: Record<string, string> = {};
  if (env.ADMIN_CREDENTIALS_FILE) {
    const creds = JSON.parse(readFileSync(env.ADMIN_CREDENTIALS_FILE, 'utf8')) as { client_id: string; client_secret: string };
    auth = { authorization: `Bearer ${(await secretToken(servers[0].url, creds.client_id, creds.client_secret)).token}` };
  }
  const tag = `${Date.now() % 1e8}${Math.floor(Math.random() * 1000)}`;
  const ids: string[] = [];
  for (let i = 0; i < 200; i++) {
    const res = await fetch(`${servers[0].url}/fhir/Patient`, { method: 'POST', headers: { ...jsonType, ...auth }, body: JSON.stringify(patient(tag, i)) });
    ids.push(((await res.json()) as { id: string }).id);
  }
  return { servers, auth, ids, tag };
}

/** The issue 14 scenarios, in order; the second is the read. */
const SCENARIOS = ['create (POST Patient)', 'read (GET Patient/id)', 'update (PUT Patient/id)', 'search by identifier (GET Patient?identifier=)', 'search by family (GET Patient?family=)'] as const;
const READ = 1;

/** One scenario against one layout, with the CPU it cost. */
function runScenario(databaseUrl: string, layout: Layout, scenario: number, seconds: number): Promise<Measured> {
  const { servers, auth, ids, tag } = layout;
  const json = { ...jsonType, ...auth };
  const name = SCENARIOS[scenario];
  const get = (path: (i: number) => string) => (s: Child, n: () => number) => ({ url: s.url, headers: auth, requests: [{ method: 'GET' as const, setupRequest: (r: object) => ({ ...r, path: path(n()) }) }] });
  const options: Array<(s: Child, n: () => number) => Parameters<typeof load>[1]> = [
    (s) => ({ url: `${s.url}/fhir/Patient`, method: 'POST', headers: json, body: JSON.stringify(patient(tag, -1)) }),
    get((i) => `/fhir/Patient/${ids[i % ids.length]}`),
    (s, n) => ({
      url: s.url,
      requests: [
        {
          method: 'PUT',
          headers: json,
          setupRequest: (r) => {
            const i = n();
            const id = ids[i % ids.length];
            return { ...r, path: `/fhir/Patient/${id}`, body: JSON.stringify({ ...patient(tag, i % ids.length), id, telecom: [{ system: 'phone', value: String(i) }] }) };
          },
        },
      ],
    }),
    // The searches of the issue 14 table: each finds one of the layout's patients.
    get((i) => `/fhir/Patient?identifier=https://fhir.nhs.uk/Id/nhs-number|${tag}${i % ids.length}`),
    get((i) => `/fhir/Patient?family=Okafor${tag}x${i % ids.length}x`),
  ];
  return measured(databaseUrl, servers, () => spreadLoad(name, servers, seconds, options[scenario]));
}

async function stopLayout(layout: Layout): Promise<number> {
  const rss = Math.max(...layout.servers.map((s) => s.peakRssMb()));
  await Promise.all(layout.servers.map((s) => s.stop()));
  return rss;
}

/** The run of median throughput among repeated runs of one cell. */
function median<T extends { rps: number }>(runs: T[]): T {
  return [...runs].sort((a, b) => a.rps - b.rps)[Math.floor((runs.length - 1) / 2)];
}

/**
 * Every scenario against each layout, interleaved: off, on and on with a token back to back, so that
 * the host's swings between minutes fall on all three alike; `rounds` times, each cell the median.
 */
async function runInterleaved(databaseUrl: string, layouts: Layout[], seconds: number, rounds: number, afterRead: () => Promise<void>): Promise<Measured[][]> {
  const runs = layouts.map(() => SCENARIOS.map((): Measured[] => []));
  for (let round = 0; round < rounds; round++) {
    for (let scenario = 0; scenario < SCENARIOS.length; scenario++) {
      for (const [i, layout] of layouts.entries()) runs[i][scenario].push(await runScenario(databaseUrl, layout, scenario, seconds));
      if (scenario === READ) await afterRead();
    }
  }
  return runs.map((byScenario) => byScenario.map(median));
}

/**
 * Issue 2 benchmark: create, read and update at 16 connections against a local PostgreSQL, with a bare
 * Express handler returning the same JSON measured in the same run so the ratio is visible. Issue 14:
 * the same load with the audit trail off (AUDIT_DISABLED), on, and on with bearer tokens (the
 * administrator's), as a deployment runs; each scenario runs on the three back to back, the bare
 * Express reads right after the hub's, and the ratios are of neighbouring runs.
 * With `processes` > 1 (issue 9) the same load is spread over that many API processes and compared
 * with one process.
 */
export async function runRestBenchmark(options: { seconds?: number; processes?: number; rounds?: number } = {}): Promise<void> {
  const seconds = options.seconds ?? 10;
  const processes = options.processes ?? 1;
  const rounds = options.rounds ?? 1;
  const pg = await benchPostgres();
  try {
    const layouts = [await startLayout(pg.url, 1, { AUDIT_DISABLED: 'true' }), await startLayout(pg.url, 1), await startLayout(pg.url, 1, withTokens())];
    // No database for this one, whatever DATABASE_URL the benchmark itself was given.
    const bare = await startChild('bench/bare-express.ts', { DATABASE_URL: '' }, '/fhir/Patient/x');
    // The same Express reading each Patient of the audit-on layout from PostgreSQL, and no more.
    const bareDb = await startChild('bench/bare-express.ts', { DATABASE_URL: pg.url }, '/fhir/Patient/x');
    const bareReads: LoadResult[] = [];
    const bareDbReads: LoadResult[] = [];
    const [off, single, tokens] = await runInterleaved(pg.url, layouts, seconds, rounds, async () => {
      bareReads.push(await load('bare Express read', { url: `${bare.url}/fhir/Patient/x`, duration: seconds }));
      let n = 0;
      const ids = layouts[1].ids;
      bareDbReads.push(
        await load('bare Express + PostgreSQL read', {
          url: bareDb.url,
          duration: seconds,
          requests: [{ method: 'GET', setupRequest: (r) => ({ ...r, path: `/fhir/Patient/${ids[n++ % ids.length]}` }) }],
        }),
      );
    });
    await Promise.all([bare.stop(), bareDb.stop()]);
    const [offRss, singleRss, tokensRss] = await Promise.all(layouts.map(stopLayout));
    const bares = [median(bareReads), median(bareDbReads)];
    const bareRps = bares[0].rps;
    const percent = (a: number, b: number): string => `${Math.round((100 * a) / b)}%`;
    printTable(
      `REST core, one API process, 16 connections, local PostgreSQL: audit trail off and on, back to back; bare Express${rounds > 1 ? `; median of ${rounds} rounds` : ''}`,
      [
        ...single.map((on, i) => ({
          scenario: on.name,
          'audit off req/s': off[i].rps,
          'audit on req/s': on.rps,
          'on / off': percent(on.rps, off[i].rps),
          'on / bare Express read': percent(on.rps, bareRps),
          'p50 ms off / on': `${off[i].p50} / ${on.p50}`,
          'p99 ms off / on': `${off[i].p99} / ${on.p99}`,
          'CPU ms/request off / on': `${off[i].cpuMs.toFixed(2)} / ${on.cpuMs.toFixed(2)}`,
          'CPU off / on': percent(off[i].cpuMs, on.cpuMs),
          'errors+non2xx': off[i].errors + off[i].non2xx + on.errors + on.non2xx,
        })),
        ...bares.map((b) => ({ scenario: b.name, 'audit off req/s': '', 'audit on req/s': b.rps, 'on / off': '', 'on / bare Express read': percent(b.rps, bareRps), 'p50 ms off / on': `${b.p50}`, 'p99 ms off / on': `${b.p99}`, 'CPU ms/request off / on': '', 'CPU off / on': '', 'errors+non2xx': b.errors + b.non2xx })),
      ],
    );
    console.log(`\nRead against bare Express + PostgreSQL read (the same round trip, no FHIR work): audit off ${percent(off[READ].rps, bares[1].rps)}, audit on ${percent(single[READ].rps, bares[1].rps)}, audit on + token ${percent(tokens[READ].rps, bares[1].rps)}`);
    printTable(
      'The same with bearer tokens: audit on, every request authenticated as the administrator (token check, scope gate, audit), against audit off',
      tokens.map((on, i) => ({
        scenario: on.name,
        'audit off req/s': off[i].rps,
        'audit on + token req/s': on.rps,
        'on / off': percent(on.rps, off[i].rps),
        'on / bare Express read': percent(on.rps, bareRps),
        'p50 ms off / on': `${off[i].p50} / ${on.p50}`,
        'CPU ms/request off / on': `${off[i].cpuMs.toFixed(2)} / ${on.cpuMs.toFixed(2)}`,
        'CPU off / on': percent(off[i].cpuMs, on.cpuMs),
        'errors+non2xx': on.errors + on.non2xx,
      })),
    );
    console.log(`\nAPI process peak RSS: ${Math.round(offRss)} MB audit off, ${Math.round(singleRss)} MB audit on, ${Math.round(tokensRss)} MB audit on with tokens`);
    console.log('CPU ms/request: the API process and PostgreSQL together; "CPU off / on" is the throughput audit-on keeps when the CPUs are the limit, and holds when other work shares the machine.');
    if (processes > 1) {
      const multi = await startLayout(pg.url, processes);
      const [results] = await runInterleaved(pg.url, [multi], seconds, rounds, async () => undefined);
      const rss = await stopLayout(multi);
      printTable(
        `REST core, ${processes} API processes, 16 connections in all`,
        results.map((x, i) => ({ scenario: x.name, 'req/s': x.rps, 'vs one process': `${(x.rps / single[i].rps).toFixed(2)}×`, 'p50 ms': x.p50, 'p99 ms': x.p99, 'errors+non2xx': x.errors + x.non2xx })),
      );
      console.log(`\npeak RSS per API process: ${Math.round(rss)} MB`);
    }
  } finally {
    pg.stop();
  }
}

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

/** Environment of a layout with authentication on: every request carries the administrator's bearer token; no rate limit, as for one busy client. */
function withTokens(): Record<string, string> {
  return { AUTH_DISABLED: 'false', RATE_LIMIT_PER_MINUTE: '0', ADMIN_CREDENTIALS_FILE: path.join(mkdtempSync(path.join(tmpdir(), 'hub-bench-')), 'admin-client.json') };
}

async function runLayout(databaseUrl: string, processes: number, seconds: number, env: Record<string, string> = {}): Promise<{ results: Measured[]; rss: number; ids: string[] }> {
  // Workers stay out of the API processes, as in the production layout (npm run worker beside them).
  const servers = await Promise.all(Array.from({ length: processes }, () => startChild('server/main.ts', { DATABASE_URL: databaseUrl, RUN_WORKERS: 'false', LOG_LEVEL: 'warn', ...env }, '/fhir/metadata')));
  try {
    let auth: Record<string, string> = {};
    if (env.ADMIN_CREDENTIALS_FILE) {
      const creds = JSON.parse(readFileSync(env.ADMIN_CREDENTIALS_FILE, 'utf8')) as { client_id: string; client_secret: string };
      auth = { authorization: `Bearer ${(await secretToken(servers[0].url, creds.client_id, creds.client_secret)).token}` };
    }
    const json = { ...jsonType, ...auth };
    const layout = String(Date.now() % 1e8);
    const ids: string[] = [];
    for (let i = 0; i < 200; i++) {
      const res = await fetch(`${servers[0].url}/fhir/Patient`, { method: 'POST', headers: json, body: JSON.stringify(patient(layout, i)) });
      ids.push(((await res.json()) as { id: string }).id);
    }
    const results = [
      await measured(databaseUrl, servers, () => spreadLoad('create (POST Patient)', servers, seconds, (s) => ({ url: `${s.url}/fhir/Patient`, method: 'POST', headers: json, body: JSON.stringify(patient(layout, -1)) }))),
      await measured(databaseUrl, servers, () => spreadLoad('read (GET Patient/id)', servers, seconds, (s, n) => ({
        url: s.url,
        headers: auth,
        requests: [{ method: 'GET', setupRequest: (r) => ({ ...r, path: `/fhir/Patient/${ids[n() % ids.length]}` }) }],
      }))),
      await measured(databaseUrl, servers, () => spreadLoad('update (PUT Patient/id)', servers, seconds, (s, n) => ({
        url: s.url,
        requests: [
          {
            method: 'PUT',
            headers: json,
            setupRequest: (r) => {
              const i = n();
              const id = ids[i % ids.length];
              return { ...r, path: `/fhir/Patient/${id}`, body: JSON.stringify({ ...patient(layout, i % ids.length), id, telecom: [{ system: 'phone', value: String(i) }] }) };
            },
          },
        ],
      }))),
      // The searches of the issue 14 table: each finds one of the patients created above.
      await measured(databaseUrl, servers, () => spreadLoad('search by identifier (GET Patient?identifier=)', servers, seconds, (s, n) => ({
        url: s.url,
        headers: auth,
        requests: [{ method: 'GET', setupRequest: (r) => ({ ...r, path: `/fhir/Patient?identifier=https://fhir.nhs.uk/Id/nhs-number|${layout}${n() % ids.length}` }) }],
      }))),
      await measured(databaseUrl, servers, () => spreadLoad('search by family (GET Patient?family=)', servers, seconds, (s, n) => ({
        url: s.url,
        headers: auth,
        requests: [{ method: 'GET', setupRequest: (r) => ({ ...r, path: `/fhir/Patient?family=Okafor${layout}x${n() % ids.length}x` }) }],
      }))),
    ];
    return { results, rss: Math.max(...servers.map((s) => s.peakRssMb())), ids };
  } finally {
    await Promise.all(servers.map((s) => s.stop()));
  }
}

/**
 * Issue 2 benchmark: create, read and update at 16 connections against a local PostgreSQL, with a bare
 * Express handler returning the same JSON measured in the same run so the ratio is visible. Issue 14:
 * the same load with the audit trail off (AUDIT_DISABLED) and on, back to back, and the ratios; then
 * audit on with bearer tokens (the administrator's), as a deployment runs.
 * With `processes` > 1 (issue 9) the same load is spread over that many API processes and compared
 * with one process.
 */
export async function runRestBenchmark(options: { seconds?: number; processes?: number } = {}): Promise<void> {
  const seconds = options.seconds ?? 10;
  const processes = options.processes ?? 1;
  const pg = await benchPostgres();
  try {
    const off = await runLayout(pg.url, 1, seconds, { AUDIT_DISABLED: 'true' });
    const single = await runLayout(pg.url, 1, seconds);
    const tokens = await runLayout(pg.url, 1, seconds, withTokens());
    const bare = await startChild('bench/bare-express.ts', {}, '/fhir/Patient/x');
    const bareRead = await load('bare Express read', { url: `${bare.url}/fhir/Patient/x`, duration: seconds });
    await bare.stop();
    // The same Express reading each Patient of the audit-on layout from PostgreSQL, and no more.
    const bareDb = await startChild('bench/bare-express.ts', { DATABASE_URL: pg.url }, '/fhir/Patient/x');
    let n = 0;
    const bareDbRead = await load('bare Express + PostgreSQL read', {
      url: bareDb.url,
      duration: seconds,
      requests: [{ method: 'GET', setupRequest: (r) => ({ ...r, path: `/fhir/Patient/${single.ids[n++ % single.ids.length]}` }) }],
    });
    await bareDb.stop();
    const percent = (a: number, b: number): string => `${Math.round((100 * a) / b)}%`;
    printTable(
      'REST core, one API process, 16 connections, local PostgreSQL: audit trail off, then on; bare Express',
      [
        ...single.results.map((on, i) => ({
          scenario: on.name,
          'audit off req/s': off.results[i].rps,
          'audit on req/s': on.rps,
          'on / off': percent(on.rps, off.results[i].rps),
          'on / bare Express read': percent(on.rps, bareRead.rps),
          'p50 ms off / on': `${off.results[i].p50} / ${on.p50}`,
          'p99 ms off / on': `${off.results[i].p99} / ${on.p99}`,
          'CPU ms/request off / on': `${off.results[i].cpuMs.toFixed(2)} / ${on.cpuMs.toFixed(2)}`,
          'CPU off / on': percent(off.results[i].cpuMs, on.cpuMs),
          'errors+non2xx': off.results[i].errors + off.results[i].non2xx + on.errors + on.non2xx,
        })),
        ...[bareRead, bareDbRead].map((bare) => ({ scenario: bare.name, 'audit off req/s': '', 'audit on req/s': bare.rps, 'on / off': '', 'on / bare Express read': percent(bare.rps, bareRead.rps), 'p50 ms off / on': `${bare.p50}`, 'p99 ms off / on': `${bare.p99}`, 'CPU ms/request off / on': '', 'CPU off / on': '', 'errors+non2xx': bare.errors + bare.non2xx })),
      ],
    );
    const read = (layout: { results: Measured[] }): number => layout.results[1].rps;
    console.log(`\nRead against bare Express + PostgreSQL read (the same round trip, no FHIR work): audit off ${percent(read(off), bareDbRead.rps)}, audit on ${percent(read(single), bareDbRead.rps)}, audit on + token ${percent(read(tokens), bareDbRead.rps)}`);
    printTable(
      'The same with bearer tokens: audit on, every request authenticated as the administrator (token check, scope gate, audit), against audit off',
      tokens.results.map((on, i) => ({
        scenario: on.name,
        'audit off req/s': off.results[i].rps,
        'audit on + token req/s': on.rps,
        'on / off': percent(on.rps, off.results[i].rps),
        'on / bare Express read': percent(on.rps, bareRead.rps),
        'p50 ms off / on': `${off.results[i].p50} / ${on.p50}`,
        'CPU ms/request off / on': `${off.results[i].cpuMs.toFixed(2)} / ${on.cpuMs.toFixed(2)}`,
        'CPU off / on': percent(off.results[i].cpuMs, on.cpuMs),
        'errors+non2xx': on.errors + on.non2xx,
      })),
    );
    console.log(`\nAPI process peak RSS: ${Math.round(off.rss)} MB audit off, ${Math.round(single.rss)} MB audit on, ${Math.round(tokens.rss)} MB audit on with tokens`);
    console.log('CPU ms/request: the API process and PostgreSQL together; "CPU off / on" is the throughput audit-on keeps when the CPUs are the limit, and holds when other work shares the machine.');
    if (processes > 1) {
      const multi = await runLayout(pg.url, processes, seconds);
      printTable(
        `REST core, ${processes} API processes, 16 connections in all`,
        multi.results.map((x, i) => ({ scenario: x.name, 'req/s': x.rps, 'vs one process': `${(x.rps / single.results[i].rps).toFixed(2)}×`, 'p50 ms': x.p50, 'p99 ms': x.p99, 'errors+non2xx': x.errors + x.non2xx })),
      );
      console.log(`\npeak RSS per API process: ${Math.round(multi.rss)} MB`);
    }
  } finally {
    pg.stop();
  }
}

// The cost of authentication, authorization and audit on a search: the same searches, on the same
// data, with authentication off, as the administrator (token check, scope gate, audit) and as a GP
// practice (all that plus the organisation's policy compiled into the SQL). Target: < 10% slower.
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { ClientRegistry } from '../server/auth/clients.js';
import { openDb } from '../server/store/open-db.js';
import { secretToken } from '../scripts/client-http.js';
import { benchPostgres, load, printTable, ROOT, startChild, type LoadResult } from './support.js';

const PATIENTS = 2_000;
const SECONDS = 8;
// A patient's record (what a practice system asks most), a name search, a chain, and the worst case:
// every Condition the client may see, with the accurate total counted through the policy.
const SEARCHES = ['Condition?subject=Patient/bench-1', 'Patient?family=Family1&_count=20', 'Condition?subject:Patient.family=Family7', 'Condition?_count=20'];
// Writes a practice makes on its own patient (bench-1 is Riverside's): each is checked against the
// policy before and after, and a care team's patient must be one the practice could already read.
const WRITES: Record<string, unknown> = {
  'POST Condition': { resourceType: 'Condition', subject: { reference: 'Patient/bench-1' }, code: { text: 'asthma' } },
  'POST CareTeam': { resourceType: 'CareTeam', status: 'active', subject: { reference: 'Patient/bench-1' }, participant: [{ member: { reference: 'PractitionerRole/role-okafor-gp' } }] },
};

/** autocannon options for a scenario: a GET of the search, or a POST of the write's body. */
function request(base: string, scenario: string, headers: Record<string, string> = {}): { url: string; duration: number; method?: 'POST'; body?: string; headers: Record<string, string> } {
  const write = WRITES[scenario];
  if (!write) return { url: `${base}/${scenario}`, duration: SECONDS, headers };
  const [, type] = scenario.split(' ');
  return { url: `${base}/${type}`, duration: SECONDS, method: 'POST', body: JSON.stringify(write), headers: { ...headers, 'content-type': 'application/fhir+json', prefer: 'return=minimal' } };
}

export async function runAuthzBenchmark(): Promise<void> {
  const pgServer = await benchPostgres();
  const admin = new pg.Client(pgServer.url);
  await admin.connect();
  await admin.query('DROP DATABASE IF EXISTS hub_bench_authz');
  await admin.query('CREATE DATABASE hub_bench_authz');
  await admin.end();
  const url = new URL(pgServer.url);
  url.pathname = '/hub_bench_authz';
  const databaseUrl = url.toString();
  const credentials = path.join(mkdtempSync(path.join(tmpdir(), 'hub-bench-')), 'admin-client.json');
  const env = { DATABASE_URL: databaseUrl, RUN_WORKERS: 'false', LOG_LEVEL: 'warn', DB_POOL_SIZE: '32', RATE_LIMIT_PER_MINUTE: '0', ADMIN_CREDENTIALS_FILE: credentials };
  const rows: Array<LoadResult & { mode: string; search: string }> = [];
  try {
    let server = await startChild('server/main.ts', env, '/fhir/metadata');
    await loadData(`${server.url}/fhir`);
    // Planner statistics as autovacuum would have them on a database that has been running a while.
    const stats = new pg.Client(databaseUrl);
    await stats.connect();
    await stats.query('VACUUM ANALYZE');
    await stats.end();
    // Searches first, every mode, then the writes: the rows the writes add would change the searches.
    for (const search of SEARCHES) rows.push({ mode: 'authentication off', search, ...(await load(search, request(`${server.url}/fhir`, search))) });
    await server.stop();

    server = await startChild('server/main.ts', { ...env, AUTH_DISABLED: 'false' }, '/fhir/metadata');
    const creds = JSON.parse(readFileSync(credentials, 'utf8')) as { client_id: string; client_secret: string };
    const adminToken = (await secretToken(server.url, creds.client_id, creds.client_secret)).token;
    const db = await openDb({ databaseUrl, dataDir: 'memory://', poolSize: 1, statementTimeoutMs: 30_000, slowQueryMs: 0 });
    const gp = await new ClientRegistry(db).create({ org: 'B84001', kind: 'gp-practice', scopes: ['system/*.cruds'], secret: 'bench-secret' });
    await db.close();
    const gpToken = (await secretToken(server.url, gp.id, 'bench-secret')).token;
    const modes = [['administrator', adminToken], ['GP practice (policy)', gpToken]] as const;
    for (const scenarios of [SEARCHES, Object.keys(WRITES)]) {
      for (const [mode, token] of modes) {
        for (const search of scenarios) rows.push({ mode, search, ...(await load(search, request(`${server.url}/fhir`, search, { authorization: `Bearer ${token}` }))) });
      }
    }
    await server.stop();

    server = await startChild('server/main.ts', env, '/fhir/metadata');
    for (const write of Object.keys(WRITES)) rows.push({ mode: 'authentication off', search: write, ...(await load(write, request(`${server.url}/fhir`, write))) });
    await server.stop();
  } finally {
    pgServer.stop();
  }
  const baseline = (search: string): number => rows.find((r) => r.mode === 'authentication off' && r.search === search)!.rps;
  printTable(
    `Authorization cost on search and writes: ${PATIENTS.toLocaleString('en-GB')} patients with 3 conditions each plus the neighbourhood fixtures, 16 connections, ${SECONDS} s each, local PostgreSQL; every authenticated request writes its AuditEvent before answering`,
    rows.map((r) => ({ mode: r.mode, search: r.search.replace(/\|/g, '\\|'), 'req/s': r.rps, 'p50 ms': r.p50, 'p99 ms': r.p99, 'vs off': r.mode === 'authentication off' ? '—' : `${Math.round((r.rps / baseline(r.search) - 1) * 100)}%`, 'errors+non2xx': r.errors + r.non2xx })),
  );
}

/** The neighbourhood fixtures, then patients registered alternately at Riverside and Meadow Lane, in transactions. */
async function loadData(base: string): Promise<void> {
  const dir = path.join(ROOT, 'fixtures', 'neighbourhood');
  const fixtures = readdirSync(dir).filter((f) => f.endsWith('.json')).sort().map((f) => JSON.parse(readFileSync(path.join(dir, f), 'utf8')));
  await post(base, fixtures.map((r) => ({ resource: r, request: { method: 'PUT', url: `${r.resourceType}/${r.id}` } })));
  for (let start = 0; start < PATIENTS; start += 250) {
    const entry = [];
    for (let i = start; i < Math.min(PATIENTS, start + 250); i++) {
      const practice = i % 2 ? 'org-riverside-surgery' : 'org-meadow-lane-practice';
      entry.push({ resource: { resourceType: 'Patient', id: `bench-${i}`, name: [{ family: `Family${i % 100}` }], generalPractitioner: [{ reference: `Organization/${practice}` }] }, request: { method: 'PUT', url: `Patient/bench-${i}` } });
      for (let c = 0; c < 3; c++) {
        entry.push({ resource: { resourceType: 'Condition', id: `bench-${i}-${c}`, subject: { reference: `Patient/bench-${i}` }, code: { text: `condition ${c}` } }, request: { method: 'PUT', url: `Condition/bench-${i}-${c}` } });
      }
    }
    await post(base, entry);
  }
}

async function post(base: string, entry: unknown[]): Promise<void> {
  const res = await fetch(`${base}/`, { method: 'POST', headers: { 'content-type': 'application/fhir+json', prefer: 'return=minimal' }, body: JSON.stringify({ resourceType: 'Bundle', type: 'transaction', entry }) });
  if (res.status !== 200) throw new Error(`loading failed: ${res.status} ${(await res.text()).slice(0, 500)}`);
}

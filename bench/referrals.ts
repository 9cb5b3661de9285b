// Referrals (issue 17): what the receiving organisation's polling costs under its policy, as the
// IG describes it (Task?owner=...&status=requested&_lastUpdated=gt...), beside the administrator;
// and what one status change costs with its consequences (state machine, parties, ServiceRequest,
// care team, Communication) beside a note that changes no status.
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { ClientRegistry } from '../server/auth/clients.js';
import { openDb } from '../server/store/open-db.js';
import { secretToken } from '../scripts/client-http.js';
import { benchPostgres, load, printTable, ROOT, startChild, type LoadResult } from './support.js';

const PATIENTS = 1_000;
const SECONDS = 8;
const WRITES = 100;
const OWNERS = ['org-good-neighbours', 'org-community-health'];
const POLLS = ['Task?owner=Organization/org-good-neighbours&status=requested&_count=20', 'Task?owner=Organization/org-good-neighbours&status=requested&_lastUpdated=gt2020-01-01&_count=20', 'ServiceRequest?_count=20'];

export async function runReferralsBenchmark(): Promise<void> {
  const pgServer = await benchPostgres();
  const admin = new pg.Client(pgServer.url);
  await admin.connect();
  await admin.query('DROP DATABASE IF EXISTS hub_bench_referrals');
  await admin.query('CREATE DATABASE hub_bench_referrals');
  await admin.end();
  const url = new URL(pgServer.url);
  url.pathname = '/hub_bench_referrals';
  const databaseUrl = url.toString();
  const credentials = path.join(mkdtempSync(path.join(tmpdir(), 'hub-bench-')), 'admin-client.json');
  const env = { DATABASE_URL: databaseUrl, RUN_WORKERS: 'false', LOG_LEVEL: 'warn', DB_POOL_SIZE: '32', RATE_LIMIT_PER_MINUTE: '0', ADMIN_CREDENTIALS_FILE: credentials, AUTH_DISABLED: 'false' };
  const polls: Array<LoadResult & { client: string; search: string }> = [];
  const writes: Array<Record<string, string | number>> = [];
  try {
    const server = await startChild('server/main.ts', env, '/fhir/metadata');
    try {
      const base = `${server.url}/fhir`;
      const creds = JSON.parse(readFileSync(credentials, 'utf8')) as { client_id: string; client_secret: string };
      const db = await openDb({ databaseUrl, dataDir: 'memory://', poolSize: 1, statementTimeoutMs: 30_000, slowQueryMs: 0 });
      const registry = new ClientRegistry(db);
      const voluntary = await registry.create({ org: 'NL0042', kind: 'voluntary', scopes: ['system/*.cruds'], secret: 'bench-secret' });
      const gp = await registry.create({ org: 'B84002', kind: 'gp-practice', scopes: ['system/*.cruds'], secret: 'bench-secret' });
      await db.close();
      // Tokens are short-lived: a fresh one for each phase.
      const token = async (client: 'admin' | 'voluntary' | 'gp'): Promise<string> =>
        client === 'admin' ? (await secretToken(server.url, creds.client_id, creds.client_secret)).token : (await secretToken(server.url, (client === 'gp' ? gp : voluntary).id, 'bench-secret')).token;
      await loadData(base, token);
      const stats = new pg.Client(databaseUrl);
      await stats.connect();
      await stats.query('VACUUM ANALYZE');
      await stats.end();

      for (const [client, who] of [['administrator', 'admin'], ['voluntary owner (policy)', 'voluntary']] as const) {
        for (const search of POLLS) polls.push({ client, search, ...(await load(search, { url: `${base}/${search}`, duration: SECONDS, headers: { authorization: `Bearer ${await token(who)}` } })) });
      }
      const voluntaryToken = await token('voluntary');
      const owned = await fetchJson(`${base}/Task?owner=Organization/org-good-neighbours&status=requested&_count=${WRITES * 2}`, voluntaryToken);
      const tasks = (owned.entry as Array<{ resource: { id: string } }>).map((e) => e.resource);
      for (const [kind, change] of [
        ['note only (no status change)', (t: object) => ({ ...t, note: [{ text: 'Called the patient' }] })],
        ['requested → accepted (joins the care team)', (t: object) => ({ ...t, status: 'accepted' })],
      ] as const) {
        const batch = kind.startsWith('note') ? tasks.slice(0, WRITES) : tasks.slice(WRITES, WRITES * 2);
        const ms: number[] = [];
        for (const task of batch) {
          const started = performance.now();
          const res = await fetch(`${base}/Task/${task.id}`, { method: 'PUT', headers: { authorization: `Bearer ${voluntaryToken}`, 'content-type': 'application/fhir+json', prefer: 'return=minimal' }, body: JSON.stringify(change(task)) });
          ms.push(performance.now() - started);
          if (res.status !== 200) throw new Error(`${kind}: ${res.status} ${(await res.text()).slice(0, 300)}`);
        }
        ms.sort((a, b) => a - b);
        writes.push({ write: kind, n: ms.length, 'p50 ms': ms[Math.floor(ms.length / 2)].toFixed(1), 'p99 ms': ms[Math.floor(ms.length * 0.99)].toFixed(1) });
      }
    } finally {
      await server.stop();
    }
  } finally {
    pgServer.stop();
  }
  printTable(
    `Referral polling: ${PATIENTS.toLocaleString('en-GB')} referrals (ServiceRequest + Task, half to Good Neighbours) plus the neighbourhood fixtures, 16 connections, ${SECONDS} s each, local PostgreSQL, audit on`,
    polls.map((r) => ({ client: r.client, search: r.search, 'req/s': r.rps, 'p50 ms': r.p50, 'p99 ms': r.p99, 'errors+non2xx': r.errors + r.non2xx })),
  );
  printTable(`Referral Task writes by the owner, one at a time over HTTP (${WRITES} each)`, writes);
}

/** The neighbourhood fixtures, a care team per patient, then referrals from Meadow Lane, in transactions (the GP's own token: the state machine's parties apply). */
async function loadData(base: string, token: (client: 'admin' | 'gp') => Promise<string>): Promise<void> {
  const dir = path.join(ROOT, 'fixtures', 'neighbourhood');
  const fixtures = readdirSync(dir).filter((f) => f.endsWith('.json')).sort().map((f) => JSON.parse(readFileSync(path.join(dir, f), 'utf8')));
  await post(base, await token('admin'), fixtures.map((r) => ({ resource: r, request: { method: 'PUT', url: `${r.resourceType}/${r.id}` } })));
  for (let start = 0; start < PATIENTS; start += 100) {
    const patients = [];
    const referrals = [];
    for (let i = start; i < Math.min(PATIENTS, start + 100); i++) {
      patients.push({ resource: { resourceType: 'Patient', id: `bench-${i}`, name: [{ family: `Family${i % 100}` }], generalPractitioner: [{ reference: 'Organization/org-meadow-lane-practice' }] }, request: { method: 'PUT', url: `Patient/bench-${i}` } });
      const careTeam = {
        resourceType: 'CareTeam',
        id: `bench-ct-${i}`,
        status: 'active',
        subject: { reference: `Patient/bench-${i}` },
        participant: [{ role: [{ coding: [{ system: 'http://snomed.info/sct', code: '768820003' }] }], member: { reference: 'PractitionerRole/role-hughes-gp' } }],
      };
      patients.push({ resource: careTeam, request: { method: 'PUT', url: `CareTeam/bench-ct-${i}` } });
      const sr = `urn:uuid:00000000-0000-4000-8000-${String(i).padStart(12, '0')}`;
      const owner = { reference: `Organization/${OWNERS[i % 2]}` };
      referrals.push(
        { fullUrl: sr, resource: { resourceType: 'ServiceRequest', status: 'draft', intent: 'order', code: { text: 'Befriending' }, subject: { reference: `Patient/bench-${i}` }, requester: { reference: 'Organization/org-meadow-lane-practice' }, performer: [owner] }, request: { method: 'POST', url: 'ServiceRequest' } },
        { resource: { resourceType: 'Task', status: 'requested', intent: 'order', focus: { reference: sr }, for: { reference: `Patient/bench-${i}` }, requester: { reference: 'Organization/org-meadow-lane-practice' }, owner }, request: { method: 'POST', url: 'Task' } },
      );
    }
    await post(base, await token('admin'), patients);
    await post(base, await token('gp'), referrals);
  }
}

async function post(base: string, token: string, entry: unknown[]): Promise<void> {
  const res = await fetch(`${base}/`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/fhir+json', prefer: 'return=minimal' }, body: JSON.stringify({ resourceType: 'Bundle', type: 'transaction', entry }) });
  if (res.status !== 200) throw new Error(`loading failed: ${res.status} ${(await res.text()).slice(0, 500)}`);
}

async function fetchJson(url: string, token: string): Promise<{ entry: unknown[] }> {
  return (await fetch(url, { headers: { authorization: `Bearer ${token}` } })).json() as Promise<{ entry: unknown[] }>;
}

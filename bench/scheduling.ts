// One point of contact for appointments (issue 16): $find across the neighbourhood and $book under
// contention. 20 organisations, each with a site, a role and a schedule of 15-minute slots from
// 09:00 to 16:30 for 30 days (18,000 slots), and 200 patients with one booked appointment each.
import pg from 'pg';
import { createSearchEngine } from '../server/search/engine.js';
import { findAppointments, type FindRequest } from '../server/scheduling/find.js';
import { openDb } from '../server/store/open-db.js';
import { SqlStore } from '../server/store/resource-store.js';
import { benchPostgres, cpuSeconds, load, postgresCpuSeconds, printTable, startChild } from './support.js';

const ORGS = 20;
const DAYS = 30;
const SLOTS_PER_DAY = 30;
const PATIENTS = 200;
const SECONDS = 10;
const FIND_CONNECTIONS = 8;
const BOOK_CONNECTIONS = 32;
/** Clients contending for each slot in the $book run. */
const CONTENDERS = 4;
const SPECIALTIES = ['394814009', '722162001', '394812008', '310080006'];
const FIRST_DAY = Date.UTC(2027, 2, 1);
const DAY_MS = 24 * 3600_000;

export async function runSchedulingBenchmark(): Promise<void> {
  const pgServer = await benchPostgres();
  // The database is kept between runs against DATABASE_URL (loading takes a minute or two): a rerun measures again.
  const admin = new pg.Client(pgServer.url);
  await admin.connect();
  const exists = (await admin.query("SELECT 1 FROM pg_database WHERE datname = 'hub_bench_scheduling'")).rowCount;
  if (!exists) await admin.query('CREATE DATABASE hub_bench_scheduling');
  await admin.end();
  const url = new URL(pgServer.url);
  url.pathname = '/hub_bench_scheduling';
  const env = { DATABASE_URL: url.toString(), RUN_WORKERS: 'false', LOG_LEVEL: 'warn', DB_POOL_SIZE: '32', RATE_LIMIT_PER_MINUTE: '0' };
  const rows: Array<Record<string, string | number>> = [];
  try {
    const server = await startChild('server/main.ts', env, '/fhir/metadata');
    const base = `${server.url}/fhir`;
    const started = Date.now();
    const loaded = (await (await fetch(`${base}/Slot?_summary=count`)).json()) as { total: number };
    if (loaded.total < ORGS * DAYS * SLOTS_PER_DAY) await loadAvailability(base);
    const loadSeconds = (Date.now() - started) / 1000;
    const stats = new pg.Client(url.toString());
    await stats.connect();
    await stats.query('VACUUM ANALYZE');
    await stats.end();

    const day = (d: number): string => new Date(FIRST_DAY + d * DAY_MS).toISOString().slice(0, 10);
    let n = 0;
    const finds = FINDS.map(([name, query]) => [name, (i: number) => `/fhir/Appointment/$find?${new URLSearchParams(query(i, day))}`] as const);
    for (const [name, path] of finds) await load(name, { url: base, connections: FIND_CONNECTIONS, duration: 2, requests: [{ method: 'GET', setupRequest: (r) => ({ ...r, path: path(n++) }) }] }); // warm-up
    for (const [name, path] of finds) {
      // CPU per request (server and PostgreSQL) does not grow when other work shares the machine, unlike latency.
      const cpu0 = cpuSeconds(server.process.pid!) + postgresCpuSeconds(url.toString());
      const r = await load(name, { url: base, connections: FIND_CONNECTIONS, duration: SECONDS, requests: [{ method: 'GET', setupRequest: (req) => ({ ...req, path: path(n++) }) }] });
      const cpuMs = ((cpuSeconds(server.process.pid!) + postgresCpuSeconds(url.toString()) - cpu0) * 1000) / Math.max(1, r.total);
      rows.push({ request: `$find: ${name}`, connections: FIND_CONNECTIONS, 'req/s': r.rps, 'p50 ms': r.p50, 'p99 ms': r.p99, 'CPU ms/req': cpuMs.toFixed(1), 'errors+non2xx': r.errors + r.non2xx });
    }

    // $book: CONTENDERS requests per slot, in turn, over the last days' slots; one wins each slot.
    const before = await bookedCount(base);
    // Slots an earlier run booked are skipped (each slot index up to then was booked by one of its contenders).
    let k = (before - PATIENTS) * CONTENDERS;
    const bookBody = (): string => {
      const i = Math.floor(k++ / CONTENDERS);
      const org = i % ORGS;
      const d = 10 + Math.floor(i / (ORGS * SLOTS_PER_DAY));
      const s = Math.floor(i / ORGS) % SLOTS_PER_DAY;
      const slot = slotOf(org, d, s);
      return JSON.stringify({
        resourceType: 'Parameters',
        parameter: [{ name: 'appointment-resource', resource: { resourceType: 'Appointment', status: 'proposed', start: slot.start, end: slot.end, slot: [{ reference: `Slot/${slot.id}` }], participant: [{ actor: { reference: `PractitionerRole/role-${org}` }, status: 'accepted' }] } }],
      });
    };
    const book = await load('$book', {
      url: `${base}/Appointment/$book`,
      connections: BOOK_CONNECTIONS,
      duration: SECONDS,
      requests: [{ method: 'POST', headers: { 'content-type': 'application/fhir+json' }, setupRequest: (req) => ({ ...req, body: bookBody() }) }],
    });
    const booked = (await bookedCount(base)) - before;
    rows.push({ request: `$book, ${CONTENDERS} clients per slot`, connections: BOOK_CONNECTIONS, 'req/s': book.rps, 'p50 ms': book.p50, 'p99 ms': book.p99, 'CPU ms/req': '', 'errors+non2xx': `${book.errors} errors, ${book.non2xx} refused (409); ${Math.round(booked / SECONDS)} bookings/s, ${booked} slots booked` });
    await server.stop();
    printTable(
      `Scheduling: ${ORGS} organisations × ${DAYS} days × ${SLOTS_PER_DAY} slots = ${(ORGS * DAYS * SLOTS_PER_DAY).toLocaleString('en-GB')} slots, ${PATIENTS} patients with a booked appointment, local PostgreSQL, authentication off, ${SECONDS} s each (loaded in ${loadSeconds.toFixed(0)} s)`,
      rows,
    );
    printTable('Scheduling: the same $find work in-process (findAppointments: the SQL, the proposals), no HTTP, one at a time, 200 runs after 20 to warm up', await timeInProcess(url.toString(), day));
  } finally {
    pgServer.stop();
  }
}

type Day = (d: number) => string;

/** The $find requests measured: name and query parameters for the i-th request. */
const FINDS: Array<[string, (i: number, day: Day) => Array<[string, string]>]> = [
  ['a week, any service', (_i, day) => [['start', day(3)], ['end', day(10)], ['_count', '10']]],
  ['a week for a patient (overlaps out, same day and site first)', (i, day) => [['start', day(0)], ['end', day(7)], ['patient-reference', `Patient/p-${i % PATIENTS}`], ['_count', '10']]],
  [
    'a week for a patient, one specialty and organisation',
    (i, day) => [['start', day(0)], ['end', day(7)], ['patient-reference', `Patient/p-${i % PATIENTS}`], ['specialty', `http://snomed.info/sct|${SPECIALTIES[i % 4]}`], ['organization', `Organization/org-${i % ORGS}`], ['_count', '10']],
  ],
];

/** findAppointments alone for each $find above, on the loaded database (no HTTP, no hold expiry, no proposal cache). */
async function timeInProcess(databaseUrl: string, day: Day): Promise<Array<Record<string, string>>> {
  const db = await openDb({ databaseUrl, dataDir: 'memory://', poolSize: 2, statementTimeoutMs: 30_000, slowQueryMs: 0 });
  const search = createSearchEngine({ defaultCount: 20, maxCount: 1000 });
  const ctx = { store: new SqlStore(db, search), search, baseUrl: 'http://bench/fhir' };
  const out: Array<Record<string, string>> = [];
  try {
    for (const [name, query] of FINDS) {
      const times: number[] = [];
      for (let i = 0; i < 220; i++) {
        const params = new Map<string, string[]>();
        for (const [k, v] of query(i, day)) params.set(k, [...(params.get(k) ?? []), v]);
        const q: FindRequest = {
          start: `${params.get('start')![0]}T00:00:00Z`,
          end: `${params.get('end')![0]}T00:00:00Z`,
          specialty: params.get('specialty') ?? [],
          visitType: [],
          practitioner: [],
          organization: params.get('organization') ?? [],
          locationReference: [],
          locationString: [],
          patients: (params.get('patient-reference') ?? []).map((r) => r.split('/')[1]),
          count: 10,
        };
        const started = performance.now();
        JSON.stringify((await findAppointments(ctx, q)).bundle);
        if (i >= 20) times.push(performance.now() - started);
      }
      times.sort((a, b) => a - b);
      out.push({ request: `$find: ${name}`, 'p50 ms': times[100].toFixed(1), 'p99 ms': times[197].toFixed(1) });
    }
  } finally {
    await db.close();
  }
  return out;
}

function slotOf(org: number, day: number, s: number): { id: string; start: string; end: string } {
  const start = FIRST_DAY + day * DAY_MS + 9 * 3600_000 + s * 15 * 60_000;
  return { id: `s-${org}-${day}-${s}`, start: new Date(start).toISOString(), end: new Date(start + 15 * 60_000).toISOString() };
}

async function loadAvailability(base: string): Promise<void> {
  // Four organisations share each site, so same-site proposals exist.
  const directory: unknown[] = [0, 1, 2, 3, 4].map((l) => ({ resourceType: 'Location', id: `site-${l}`, name: `Site ${l}`, status: 'active' }));
  for (let o = 0; o < ORGS; o++) {
    directory.push(
      { resourceType: 'Organization', id: `org-${o}`, name: `Member ${o}`, identifier: [{ system: 'https://fhir.nhs.uk/Id/ods-organization-code', value: `BN${String(o).padStart(3, '0')}` }] },
      { resourceType: 'PractitionerRole', id: `role-${o}`, active: true, organization: { reference: `Organization/org-${o}` }, location: [{ reference: `Location/site-${o % 5}` }] },
      { resourceType: 'Schedule', id: `sched-${o}`, active: true, actor: [{ reference: `PractitionerRole/role-${o}` }], specialty: [{ coding: [{ system: 'http://snomed.info/sct', code: SPECIALTIES[o % 4] }] }] },
    );
  }
  await post(base, directory.map((r) => ({ resource: r, request: { method: 'PUT', url: `${(r as { resourceType: string }).resourceType}/${(r as { id: string }).id}` } })));
  let batch: unknown[] = [];
  for (let d = 0; d < DAYS; d++) {
    for (let o = 0; o < ORGS; o++) {
      for (let s = 0; s < SLOTS_PER_DAY; s++) {
        const slot = slotOf(o, d, s);
        batch.push({ resource: { resourceType: 'Slot', ...slot, schedule: { reference: `Schedule/sched-${o}` }, status: 'free' }, request: { method: 'PUT', url: `Slot/${slot.id}` } });
        if (batch.length === 500) {
          await post(base, batch);
          batch = [];
        }
      }
    }
  }
  if (batch.length) await post(base, batch);
  // Each patient has one appointment in the first week, taking a slot.
  for (let p = 0; p < PATIENTS; p++) {
    const slot = slotOf(p % ORGS, p % 7, Math.floor(p / ORGS) % SLOTS_PER_DAY);
    const res = await fetch(`${base}/Patient/p-${p}`, { method: 'PUT', headers: { 'content-type': 'application/fhir+json' }, body: JSON.stringify({ resourceType: 'Patient', id: `p-${p}`, name: [{ family: `Patient${p}` }] }) });
    if (res.status >= 300) throw new Error(`patient: ${res.status}`);
    const appt = { resourceType: 'Appointment', status: 'booked', start: slot.start, end: slot.end, slot: [{ reference: `Slot/${slot.id}` }], participant: [{ actor: { reference: `Patient/p-${p}` }, status: 'accepted' }, { actor: { reference: `PractitionerRole/role-${p % ORGS}` }, status: 'accepted' }] };
    const booked = await fetch(`${base}/Appointment`, { method: 'POST', headers: { 'content-type': 'application/fhir+json', prefer: 'return=minimal' }, body: JSON.stringify(appt) });
    if (booked.status !== 201) throw new Error(`booking: ${booked.status} ${(await booked.text()).slice(0, 300)}`);
  }
}

async function bookedCount(base: string): Promise<number> {
  const res = await fetch(`${base}/Appointment?status=booked&_summary=count`);
  return ((await res.json()) as { total: number }).total;
}

async function post(base: string, entry: unknown[]): Promise<void> {
  const res = await fetch(`${base}/`, { method: 'POST', headers: { 'content-type': 'application/fhir+json', prefer: 'return=minimal' }, body: JSON.stringify({ resourceType: 'Bundle', type: 'transaction', entry }) });
  if (res.status !== 200) throw new Error(`loading failed: ${res.status} ${(await res.text()).slice(0, 500)}`);
}

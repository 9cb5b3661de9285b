// Medicines across prescribers (issue 18): Patient/$medications and the CDS Hooks order-sign call
// for one patient with 30 medication resources, among 100,000 medication resources of other
// patients, on PostgreSQL. Target: p50 < 20 ms.
import { randomUUID } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Resource } from '@medplum/fhirtypes';
import pg from 'pg';
import { initValidator } from '../profiles/validator.js';
import { createSearchEngine } from '../server/search/engine.js';
import { gatherMedicationRecords } from '../server/medicines/gather.js';
import { medicationListBundle, reviewMedicines } from '../server/medicines/medication-list.js';
import { insertNewResources } from '../server/store/bulk-insert.js';
import { openDb } from '../server/store/open-db.js';
import { benchPostgres, load, printTable, ROOT, startChild, type LoadResult } from './support.js';

const OTHERS = 100_000;
const PER_OTHER_PATIENT = 20;
const SECONDS = 8;
const ROLES = ['role-okafor-gp', 'role-hughes-gp', 'role-lee-psychiatrist', 'role-shah-pharmacist-prescriber', 'role-evans-dentist'];
const OLIVE = 'pat-olive-grant';

export async function runMedicinesBenchmark(): Promise<void> {
  const pgServer = await benchPostgres();
  const admin = new pg.Client(pgServer.url);
  await admin.connect();
  await admin.query('DROP DATABASE IF EXISTS hub_bench_medicines');
  await admin.query('CREATE DATABASE hub_bench_medicines');
  await admin.end();
  const url = new URL(pgServer.url);
  url.pathname = '/hub_bench_medicines';
  const databaseUrl = url.toString();
  const env = { DATABASE_URL: databaseUrl, RUN_WORKERS: 'false', LOG_LEVEL: 'warn', DB_POOL_SIZE: '32', RATE_LIMIT_PER_MINUTE: '0' };
  const rows: Array<LoadResult & { connections: number }> = [];
  let inProcess: { p50: number; p99: number } | undefined;
  try {
    const server = await startChild('server/main.ts', env, '/fhir/metadata');
    const base = `${server.url}/fhir`;
    // Olive's own record goes through the API (write-time checks included); the others in bulk.
    await transaction(base, fixtures('neighbourhood'));
    await transaction(base, [...fixtures('medicines'), ...oliveTopUp()]);
    const others = await loadOthers(databaseUrl);
    const stats = new pg.Client(databaseUrl);
    await stats.connect();
    await stats.query('VACUUM ANALYZE');
    await stats.end();
    const check = await fetch(`${base}/Patient/${OLIVE}/$medications`);
    const entries = ((await check.json()) as { entry?: unknown[] }).entry?.length;
    if (check.status !== 200 || !entries) throw new Error(`$medications answered ${check.status}`);
    const hook = JSON.stringify(orderSign());
    const cards = (await (await fetch(`${server.url}/cds-services/neighbourhood-medicines`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: hook })).json()) as { cards?: unknown[] };
    if (!cards.cards?.length) throw new Error('order-sign answered no card for a duplicate');
    // Warm up (JIT, plan cache, pool) on both requests before anything is measured.
    await load('warm-up', { url: `${base}/Patient/${OLIVE}/$medications`, duration: 3, connections: 2 });
    await load('warm-up', { url: `${server.url}/cds-services/neighbourhood-medicines`, method: 'POST', headers: { 'content-type': 'application/json' }, body: hook, duration: 3, connections: 2 });
    for (const connections of [1, 8]) {
      rows.push({ connections, ...(await load('GET Patient/{id}/$medications', { url: `${base}/Patient/${OLIVE}/$medications`, duration: SECONDS, connections })) });
      rows.push({
        connections,
        ...(await load('POST /cds-services/neighbourhood-medicines (order-sign, a duplicate)', {
          url: `${server.url}/cds-services/neighbourhood-medicines`,
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: hook,
          duration: SECONDS,
          connections,
        })),
      });
    }
    // What the write-time duplicate check costs a prescription: the same write as a draft (not checked) and active (checked; no duplicate found).
    for (const status of ['draft', 'active']) {
      let n = 0;
      const result = await load(`POST MedicationRequest (${status})`, {
        url: `${base}/MedicationRequest`,
        duration: SECONDS,
        connections: 1,
        requests: [
          {
            method: 'POST',
            headers: { 'content-type': 'application/fhir+json', prefer: 'return=minimal' },
            setupRequest: (req) => ({ ...req, body: JSON.stringify(newPrescription(others[n++ % others.length], status)) }),
          },
        ],
      });
      rows.push({ connections: 1, ...result });
    }
    await server.stop();
    inProcess = await timeInProcess(databaseUrl);
  } finally {
    pgServer.stop();
  }
  printTable(
    `Medicines: one patient with 30 medication resources among ${OTHERS.toLocaleString('en-GB')} others (${OTHERS / PER_OTHER_PATIENT} patients), local PostgreSQL, authentication off, ${SECONDS} s each`,
    rows.map((r) => ({ request: r.name, connections: r.connections, 'req/s': r.rps, 'p50 ms': r.p50, 'p99 ms': r.p99, 'errors+non2xx': r.errors + r.non2xx })),
  );
  if (inProcess) {
    printTable('Medicines: the same $medications work in-process (three searches with includes, grouping, DetectedIssues, the Bundle serialised), no HTTP, one at a time', [
      { work: 'gather + review + Bundle', 'p50 ms': inProcess.p50.toFixed(1), 'p99 ms': inProcess.p99.toFixed(1) },
    ]);
  }
}

/** The server's own work for one $medications, without HTTP or authentication: 200 runs after 20 to warm up. */
async function timeInProcess(databaseUrl: string): Promise<{ p50: number; p99: number }> {
  const db = await openDb({ databaseUrl, dataDir: 'memory://', poolSize: 4, statementTimeoutMs: 30_000, slowQueryMs: 0 });
  const search = createSearchEngine({ defaultCount: 20, maxCount: 1000 });
  const ctx = { sql: db, baseUrl: 'http://bench/fhir', strict: false };
  const times: number[] = [];
  try {
    for (let i = 0; i < 220; i++) {
      const start = performance.now();
      const records = await gatherMedicationRecords(search, ctx, OLIVE);
      JSON.stringify(medicationListBundle(records, reviewMedicines(records, ctx.baseUrl), ctx.baseUrl));
      if (i >= 20) times.push(performance.now() - start);
    }
  } finally {
    await db.close();
  }
  times.sort((a, b) => a - b);
  return { p50: times[Math.floor(times.length / 2)], p99: times[Math.floor(times.length * 0.99)] };
}

function fixtures(folder: string): Resource[] {
  const dir = path.join(ROOT, 'fixtures', folder);
  return readdirSync(dir).filter((f) => f.endsWith('.json')).sort().map((f) => JSON.parse(readFileSync(path.join(dir, f), 'utf8')) as Resource);
}

/** Olive's fixtures hold 9 medication resources (5 prescriptions, 2 Medications, a statement, a dispense); 16 more prescriptions, 3 statements and 2 dispenses make 30. */
function oliveTopUp(): Resource[] {
  const subject = { reference: `Patient/${OLIVE}` };
  const out: Resource[] = [];
  for (let i = 0; i < 16; i++) {
    out.push({ resourceType: 'MedicationRequest', id: `rx-olive-extra-${i}`, status: 'active', intent: 'order', medicationCodeableConcept: { text: `Bench medicine ${i % 12}` }, subject, authoredOn: '2025-04-01', requester: { reference: `PractitionerRole/${ROLES[i % ROLES.length]}` } });
  }
  for (let i = 0; i < 3; i++) out.push({ resourceType: 'MedicationStatement', id: `ms-olive-extra-${i}`, status: 'active', medicationCodeableConcept: { text: `Bench supplement ${i}` }, subject });
  for (let i = 0; i < 2; i++) {
    out.push({ resourceType: 'MedicationDispense', id: `md-olive-extra-${i}`, status: 'completed', medicationCodeableConcept: { text: `Bench medicine ${i}` }, subject, whenHandedOver: `2025-04-0${i + 2}` });
  }
  return out;
}

/** 5,000 other patients with 14 prescriptions, 3 statements and 3 dispenses each, inserted in bulk. */
async function loadOthers(databaseUrl: string): Promise<string[]> {
  initValidator();
  const db = await openDb({ databaseUrl, dataDir: 'memory://', poolSize: 2, statementTimeoutMs: 300_000, slowQueryMs: 0 });
  const search = createSearchEngine({ defaultCount: 20, maxCount: 1000 });
  const ids: string[] = [];
  try {
    const patients = OTHERS / PER_OTHER_PATIENT;
    for (let start = 0; start < patients; start += 250) {
      await db.transaction(async (tx) => {
        const made = await insertNewResources(tx, search, Array.from({ length: Math.min(250, patients - start) }, (_, i) => ({ resourceType: 'Patient', name: [{ family: `Other${start + i}` }] }) as Resource));
        const medication: Resource[] = [];
        ids.push(...made.map((p) => p.id as string));
        for (const p of made) {
          const subject = { reference: `Patient/${p.id}` };
          for (let m = 0; m < 14; m++) {
            medication.push({ resourceType: 'MedicationRequest', status: m % 5 ? 'active' : 'completed', intent: 'order', medicationCodeableConcept: { text: `Other medicine ${m}` }, subject, requester: { reference: `PractitionerRole/${ROLES[m % ROLES.length]}` }, authoredOn: '2025-01-01' });
          }
          for (let m = 0; m < 3; m++) medication.push({ resourceType: 'MedicationStatement', status: 'active', medicationCodeableConcept: { text: `Other medicine ${m}` }, subject });
          for (let m = 0; m < 3; m++) medication.push({ resourceType: 'MedicationDispense', status: 'completed', medicationCodeableConcept: { text: `Other medicine ${m}` }, subject, whenHandedOver: '2025-01-02' });
        }
        await insertNewResources(tx, search, medication);
      });
    }
  } finally {
    await db.close();
  }
  return ids;
}

function newPrescription(patientId: string, status: string): Resource {
  return { resourceType: 'MedicationRequest', status, intent: 'order', medicationCodeableConcept: { text: 'Bench new medicine' }, subject: { reference: `Patient/${patientId}` }, requester: { reference: 'PractitionerRole/role-okafor-gp' } } as Resource;
}

function orderSign(): Record<string, unknown> {
  const draft = {
    resourceType: 'MedicationRequest',
    id: 'draft-amlodipine',
    status: 'draft',
    intent: 'order',
    subject: { reference: `Patient/${OLIVE}` },
    medicationCodeableConcept: { coding: [{ system: 'https://dmd.nhs.uk', code: '319283006', display: 'Amlodipine 5mg tablets' }] },
  };
  return { hook: 'order-sign', hookInstance: randomUUID(), context: { userId: 'PractitionerRole/role-lee-psychiatrist', patientId: OLIVE, draftOrders: { resourceType: 'Bundle', type: 'collection', entry: [{ resource: draft }] } } };
}

async function transaction(base: string, resources: Resource[]): Promise<void> {
  const entry = resources.map((r) => ({ resource: r, request: { method: 'PUT', url: `${r.resourceType}/${r.id}` } }));
  const res = await fetch(`${base}/`, { method: 'POST', headers: { 'content-type': 'application/fhir+json', prefer: 'return=minimal' }, body: JSON.stringify({ resourceType: 'Bundle', type: 'transaction', entry }) });
  if (res.status !== 200) throw new Error(`loading failed: ${res.status} ${(await res.text()).slice(0, 500)}`);
}

import { expect } from 'chai';
import pg from 'pg';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { secretToken } from '../../scripts/client-http.js';
import { startHubProcess, type HubProcess } from '../support/processes.js';
import { eventNumbers, eventually, startReceiver, subFixture, type Receiver } from '../subscriptions/support.js';

interface Reply {
  status: number;
  body: any; // eslint-disable-line @typescript-eslint/no-explicit-any -- FHIR JSON read loosely
}

/** The administrator's token, issued by the first API process and accepted by both (stateless scale-out). */
let token = '';

async function fhir(base: string, method: string, pathPart: string, body?: unknown, headers: Record<string, string> = {}): Promise<Reply> {
  const res = await fetch(`${base}/${pathPart}`, {
    method,
    headers: { 'content-type': 'application/fhir+json', authorization: `Bearer ${token}`, ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

const appointment = { ...subFixture('appointment-booked-for-ada.json') };

/**
 * Issue 9: two API processes and two worker processes on one PostgreSQL and one Redis behave as
 * one server, and killing one of each mid-run loses nothing that was acknowledged.
 */
describe('scale-out: 2 API processes and 2 worker processes on one PostgreSQL and one Redis', function () {
  this.timeout(300_000);
  const processes: HubProcess[] = [];
  let api: [HubProcess, HubProcess];
  let workers: [HubProcess, HubProcess];
  let receiver: Receiver;
  let databaseUrl: string;

  before(async () => {
    const admin = new pg.Client(process.env.TEST_DATABASE_URL);
    await admin.connect();
    const name = `hub_scale_${process.pid}`;
    await admin.query(`DROP DATABASE IF EXISTS ${name}`);
    await admin.query(`CREATE DATABASE ${name}`);
    await admin.end();
    const url = new URL(process.env.TEST_DATABASE_URL as string);
    url.pathname = `/${name}`;
    databaseUrl = url.toString();
    const env = {
      DATABASE_URL: databaseUrl,
      REDIS_URL: process.env.TEST_REDIS_URL as string,
      QUEUE_PREFIX: `scale${process.pid}`,
      SUBSCRIPTION_ENDPOINT_ALLOW: '127.0.0.1',
      SUBSCRIPTION_STALLED_MS: '1000',
      SUBSCRIPTION_TICK_MS: '200',
      SUBSCRIPTION_RELAY_POLL_MS: '50',
      DB_POOL_SIZE: '5',
      // The address of the load balancer in front of both API processes: the audience of every token.
      BASE_URL: 'http://hub.scale.test/fhir',
      ADMIN_CREDENTIALS_FILE: path.join(mkdtempSync(path.join(tmpdir(), 'hub-scale-')), 'admin-client.json'),
      ACCESS_TOKEN_TTL_SECONDS: '3600',
    };
    // All four start at once against an empty database: the migrations must run exactly once.
    const started = await Promise.all([
      startHubProcess('api', { ...env, RUN_WORKERS: 'false' }),
      startHubProcess('api', { ...env, RUN_WORKERS: 'false' }),
      startHubProcess('worker', env),
      startHubProcess('worker', env),
    ]);
    processes.push(...started);
    api = [started[0], started[1]];
    workers = [started[2], started[3]];
    receiver = await startReceiver();
    const creds = JSON.parse(readFileSync(env.ADMIN_CREDENTIALS_FILE, 'utf8')) as { client_id: string; client_secret: string };
    token = (await secretToken(new URL(api[0].base!).origin, creds.client_id, creds.client_secret)).token;
  });

  after(async () => {
    await Promise.all(processes.map((p) => p.kill()));
    await receiver?.close();
  });

  it('migrations ran once although four processes started together', async () => {
    const client = new pg.Client(databaseUrl);
    await client.connect();
    const rows = (await client.query('SELECT version FROM schema_migrations ORDER BY version')).rows.map((r) => r.version);
    await client.end();
    const files = readdirSync(path.join(__dirname, '..', '..', 'server', 'store', 'migrations')).filter((f) => f.endsWith('.sql')).map((f) => f.replace(/\.sql$/, ''));
    expect(rows).to.deep.equal(files.sort());
  });

  it('a resource written through one API is read, searched and versioned through the other', async () => {
    const created = await fhir(api[0].base!, 'POST', 'Patient', { resourceType: 'Patient', identifier: [{ system: 'urn:scale', value: 'p-1' }] });
    expect(created.status).to.equal(201);
    const read = await fhir(api[1].base!, 'GET', `Patient/${created.body.id}`);
    expect(read.body.id).to.equal(created.body.id);
    const found = await fhir(api[1].base!, 'GET', 'Patient?identifier=urn:scale|p-1');
    expect(found.body.entry).to.have.length(1);
  });

  it('concurrent updates through both APIs never collide on a version', async () => {
    const created = await fhir(api[0].base!, 'POST', 'Organization', { resourceType: 'Organization', name: 'v1' });
    const id = created.body.id;
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => fhir(api[i % 2].base!, 'PUT', `Organization/${id}`, { resourceType: 'Organization', id, name: `v${i}` })));
    expect(results.map((r) => r.status)).to.deep.equal(Array(20).fill(200));
    const versions = results.map((r) => Number(r.body.meta.versionId)).sort((a, b) => a - b);
    expect(versions).to.deep.equal(Array.from({ length: 20 }, (_, i) => i + 2));
  });

  it('If-Match holds across processes: of concurrent updates with the same version, exactly one wins', async () => {
    const created = await fhir(api[0].base!, 'POST', 'Organization', { resourceType: 'Organization', name: 'x' });
    const id = created.body.id;
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) => fhir(api[i % 2].base!, 'PUT', `Organization/${id}`, { resourceType: 'Organization', id, name: `y${i}` }, { 'if-match': 'W/"1"' })),
    );
    expect(results.filter((r) => r.status === 200)).to.have.length(1);
    expect(results.filter((r) => r.status === 412)).to.have.length(9);
  });

  it('transactions through both APIs land whole', async () => {
    const tx = (n: number) => ({
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        { fullUrl: `urn:uuid:00000000-0000-4000-8000-00000000000${n}`, resource: { resourceType: 'Patient', name: [{ family: `T${n}` }] }, request: { method: 'POST', url: 'Patient' } },
        { resource: { resourceType: 'CareTeam', status: 'active', subject: { reference: `urn:uuid:00000000-0000-4000-8000-00000000000${n}` } }, request: { method: 'POST', url: 'CareTeam' } },
      ],
    });
    const [a, b] = await Promise.all([fhir(api[0].base!, 'POST', '', tx(1)), fhir(api[1].base!, 'POST', '', tx(2))]);
    expect([a.status, b.status]).to.deep.equal([200, 200]);
    const typeAndId = (location: string): string => location.replace(/\/_history\/\d+$/, '').split('/').slice(-2).join('/');
    const team = await fhir(api[1].base!, 'GET', typeAndId(a.body.entry[1].response.location));
    expect(team.body.subject.reference).to.equal(typeAndId(a.body.entry[0].response.location));
  });

  it('every acknowledged write is notified, once, in order, although one API process and one worker are killed mid-run', async () => {
    const patient = await fhir(api[0].base!, 'PUT', 'Patient/patient-ada', { resourceType: 'Patient', id: 'patient-ada', name: [{ family: 'Okafor' }] });
    expect(patient.status).to.be.oneOf([200, 201]);
    const sub = subFixture('backport-appointment-id-only.json');
    sub.channel.endpoint = receiver.url;
    const created = await fhir(api[1].base!, 'POST', 'Subscription', sub);
    expect(created.status, JSON.stringify(created.body)).to.equal(201);
    await eventually(() => fhir(api[1].base!, 'GET', `Subscription/${created.body.id}`), (r) => r.body.status === 'active', 30_000);

    const acknowledged: string[] = [];
    const write = async (via: HubProcess): Promise<void> => {
      const res = await fhir(via.base!, 'POST', 'Appointment', appointment).catch(() => undefined);
      if (res?.status === 201) acknowledged.push(`Appointment/${res.body.id}`);
    };
    // 60 writes spread over both APIs; half way, one API process and one worker are SIGKILLed.
    for (let round = 0; round < 30; round++) {
      if (round === 15) await Promise.all([api[0].kill('SIGKILL'), workers[0].kill('SIGKILL')]);
      await Promise.all([write(api[0]), write(api[1])]);
    }
    expect(acknowledged.length).to.be.at.least(45);

    const focusOf = (bundle: any): string[] => // eslint-disable-line @typescript-eslint/no-explicit-any -- notification JSON
      (bundle?.entry ?? []).slice(1).map((e: { fullUrl?: string }) => (e.fullUrl ?? '').split('/').slice(-2).join('/'));
    await receiver.waitFor(() => {
      const delivered = new Set(receiver.events().flatMap((r) => focusOf(r.json)));
      return acknowledged.every((a) => delivered.has(a));
    }, 120_000);

    const numbers = receiver.events().flatMap(eventNumbers);
    const firstSeen = numbers.filter((n, i) => numbers.indexOf(n) === i);
    expect(firstSeen, 'event numbers in order of first arrival').to.deep.equal(Array.from({ length: firstSeen.length }, (_, i) => i + 1));
    // At-least-once: what was in flight when its worker died may arrive again, but as the same
    // notification (same X-Notification-Id), so the receiver can drop it; nothing else repeats.
    const idOf = new Map<number, string>();
    for (const r of receiver.events()) {
      for (const n of eventNumbers(r)) {
        const id = String(r.headers['x-notification-id']);
        if (idOf.has(n)) expect(id, `event ${n} repeated under another notification id`).to.equal(idOf.get(n));
        else idOf.set(n, id);
      }
    }
    // What the killed worker sent after its last cursor flush is sent once more by the survivor,
    // from that cursor on: each event at most twice, and the repeats one unbroken run of numbers.
    const repeated = [...new Set(numbers.filter((n, i) => numbers.indexOf(n) !== i))].sort((a, b) => a - b);
    for (const n of repeated) expect(numbers.filter((m) => m === n), `event ${n} arrivals`).to.have.length(2);
    expect(repeated, 'repeats are one run from the flushed cursor').to.deep.equal(repeated.map((_, i) => repeated[0] + i));
  });
});

// What the audit trail costs one interaction, split by process: one API process on a fresh local
// PostgreSQL, 16 connections (CONNECTIONS=n to change) for 10 s, printing the API's and
// PostgreSQL's CPU per request and PostgreSQL's commits per request (a read is one commit of its
// own; the rest are audit batches). `token`: every request carries the administrator's bearer token.
//   npx tsx bench/audit-cost.ts on|off [read|create|update|search] [token]
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { secretToken } from '../scripts/client-http.js';
import { benchPostgres, cpuSeconds, load, postgresCpuSeconds, startChild } from './support.js';

type Scenario = 'read' | 'create' | 'update' | 'search';

async function main(): Promise<void> {
  const audit = process.argv[2] !== 'off';
  const scenario: Scenario = (['create', 'update', 'search'] as const).find((s) => process.argv.includes(s)) ?? 'read';
  const withToken = process.argv.includes('token');
  const credentials = path.join(mkdtempSync(path.join(tmpdir(), 'hub-bench-')), 'admin-client.json');
  const auth: Record<string, string> = withToken ? { AUTH_DISABLED: 'false', RATE_LIMIT_PER_MINUTE: '0', ADMIN_CREDENTIALS_FILE: credentials } : {};
  const database = await benchPostgres();
  // A server that does not come up (a refused configuration) must not leave its database running.
  const server = await startChild('server/main.ts', { DATABASE_URL: database.url, RUN_WORKERS: 'false', LOG_LEVEL: 'warn', AUDIT_DISABLED: String(!audit), ...auth }, '/fhir/metadata').catch((err: unknown) => {
    database.stop();
    throw err;
  });
  const stats = new pg.Client({ connectionString: database.url });
  try {
    await stats.connect();
    const headers: Record<string, string> = {};
    if (withToken) {
      const creds = JSON.parse(readFileSync(credentials, 'utf8')) as { client_id: string; client_secret: string };
      headers.authorization = `Bearer ${(await secretToken(server.url, creds.client_id, creds.client_secret)).token}`;
    }
    const json = { ...headers, 'content-type': 'application/fhir+json' };
    const patient = (i: number) => ({ resourceType: 'Patient', identifier: [{ system: 'urn:bench', value: String(i) }], name: [{ family: 'Audit' }] });
    const ids: string[] = [];
    for (let i = 0; i < 200; i++) ids.push(((await (await fetch(`${server.url}/fhir/Patient`, { method: 'POST', headers: json, body: JSON.stringify(patient(i)) })).json()) as { id: string }).id);
    let n = 0;
    const requests = {
      read: () => ({ method: 'GET' as const, headers, setupRequest: (r: object) => ({ ...r, path: `/fhir/Patient/${ids[n++ % ids.length]}` }) }),
      search: () => ({ method: 'GET' as const, headers, setupRequest: (r: object) => ({ ...r, path: `/fhir/Patient?identifier=urn:bench|${n++ % ids.length}` }) }),
      create: () => ({ method: 'POST' as const, headers: json, setupRequest: (r: object) => ({ ...r, path: '/fhir/Patient', body: JSON.stringify(patient(-1)) }) }),
      update: () => ({
        method: 'PUT' as const,
        headers: json,
        setupRequest: (r: object) => {
          const i = n++;
          const id = ids[i % ids.length];
          return { ...r, path: `/fhir/Patient/${id}`, body: JSON.stringify({ ...patient(i % ids.length), id, telecom: [{ system: 'phone', value: String(i) }] }) };
        },
      }),
    };
    const commits = async (): Promise<number> => Number((await stats.query('SELECT sum(xact_commit) AS n FROM pg_stat_database')).rows[0].n);
    const before = { api: cpuSeconds(server.process.pid!), db: postgresCpuSeconds(database.url), commits: await commits() };
    const result = await load(scenario, { url: server.url, duration: 10, connections: Number(process.env.CONNECTIONS ?? 16), requests: [requests[scenario]()] });
    const per = (x: number): string => ((1000 * x) / result.total).toFixed(3);
    const after = { api: cpuSeconds(server.process.pid!), db: postgresCpuSeconds(database.url), commits: await commits() };
    console.log(
      `${scenario}, audit ${audit ? 'on' : 'off'}${withToken ? ', token' : ''}: ${result.rps} req/s; CPU ms per request: API ${per(after.api - before.api)}, PostgreSQL ${per(after.db - before.db)}; p50 ${result.p50} ms; commits per request ${((after.commits - before.commits) / result.total).toFixed(3)}; errors+non2xx ${result.errors + result.non2xx}`,
    );
  } finally {
    await stats.end();
    await server.stop();
    database.stop();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});

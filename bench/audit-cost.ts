// What the audit trail costs one interaction, split by process: one API process on a fresh local
// PostgreSQL, 16 connections for 10 s, printing the API's and PostgreSQL's CPU per request and
// PostgreSQL's commits per request (a read is one commit of its own; the rest are audit batches).
//   npx tsx bench/audit-cost.ts on|off [read|create|update|search]
import pg from 'pg';
import { benchPostgres, cpuSeconds, load, postgresCpuSeconds, startChild } from './support.js';

async function main(): Promise<void> {
  const audit = process.argv[2] !== 'off';
  const scenario = ['create', 'update', 'search'].includes(process.argv[3]) ? process.argv[3] : 'read';
  const database = await benchPostgres();
  const server = await startChild('server/main.ts', { DATABASE_URL: database.url, RUN_WORKERS: 'false', LOG_LEVEL: 'warn', AUDIT_DISABLED: String(!audit) }, '/fhir/metadata');
  const stats = new pg.Client({ connectionString: database.url });
  try {
    await stats.connect();
    const json = { 'content-type': 'application/fhir+json' };
    const patient = (i: number): string => JSON.stringify({ resourceType: 'Patient', identifier: [{ system: 'urn:bench', value: String(i) }], name: [{ family: 'Audit' }] });
    const ids: string[] = [];
    for (let i = 0; i < 200; i++) ids.push(((await (await fetch(`${server.url}/fhir/Patient`, { method: 'POST', headers: json, body: patient(i) })).json()) as { id: string }).id);
    const commits = async (): Promise<number> => Number((await stats.query('SELECT sum(xact_commit) AS n FROM pg_stat_database')).rows[0].n);
    const before = { api: cpuSeconds(server.process.pid!), db: postgresCpuSeconds(database.url), commits: await commits() };
    let n = 0;
    const result =
      scenario === 'create'
        ? await load('create', { url: `${server.url}/fhir/Patient`, method: 'POST', headers: json, body: patient(-1), duration: 10 })
        : scenario === 'update'
          ? await load('update', { url: server.url, duration: 10, requests: [{ method: 'PUT', headers: json, setupRequest: (r) => { const i = n++; const id = ids[i % ids.length]; return { ...r, path: `/fhir/Patient/${id}`, body: JSON.stringify({ ...JSON.parse(patient(i % ids.length)), id, telecom: [{ system: 'phone', value: String(i) }] }) }; } }] })
        : scenario === 'search'
          ? await load('search', { url: server.url, duration: 10, requests: [{ method: 'GET', setupRequest: (r) => ({ ...r, path: `/fhir/Patient?identifier=urn:bench|${n++ % ids.length}` }) }] })
          : await load('read', { url: server.url, duration: 10, connections: Number(process.env.CONNECTIONS ?? 16), requests: [{ method: 'GET', setupRequest: (r) => ({ ...r, path: `/fhir/Patient/${ids[n++ % ids.length]}` }) }] });
    const per = (x: number): string => ((1000 * x) / result.total).toFixed(3);
    const after = { api: cpuSeconds(server.process.pid!), db: postgresCpuSeconds(database.url), commits: await commits() };
    console.log(
      `${scenario}, audit ${audit ? 'on' : 'off'}: ${result.rps} req/s; CPU ms per request: API ${per(after.api - before.api)}, PostgreSQL ${per(after.db - before.db)}; p50 ${result.p50} ms; commits per request ${((after.commits - before.commits) / result.total).toFixed(3)}`,
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

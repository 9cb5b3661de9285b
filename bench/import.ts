// Import benchmark (issue 4): transaction Bundles of 500 generated neighbourhood resources linked by
// urn:uuid, 4 in flight, into a server on a local PostgreSQL. Reports resources/s (overall and per
// 10 s window), server RSS, and CPU per process; with --profile, where the server's time goes.
//   npx tsx bench/import.ts [--resources 100000] [--seconds 300] [--in-flight 4] [--profile] [--sql-stats]
// --sql-stats needs a PostgreSQL started with shared_preload_libraries=pg_stat_statements (DATABASE_URL).
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { freePort } from '../server/net.js';
import { neighbourhoodBundle } from './import-data.js';
import { hottestFunctions, summariseProfile } from './import-profile.js';
import { benchPostgres, printTable, ROOT, SERVER_NODE_FLAGS } from './support.js';

const TICKS = 100; // clock ticks per second for /proc/<pid>/stat (CLK_TCK on Linux)

/** CPU seconds used so far by a process, or by every process whose command is `postgres`. */
function cpuSeconds(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(fields[11]) + Number(fields[12])) / TICKS;
  } catch {
    return 0; // the process ended
  }
}
/** CPU seconds of one PostgreSQL: its postmaster (found by the port on its command line) and its children. */
function postgresCpuSeconds(port: string): number {
  const pids = readdirSync('/proc').filter((p) => /^\d+$/.test(p));
  const read = (pid: string, file: string): string => {
    try {
      return readFileSync(`/proc/${pid}/${file}`, 'utf8');
    } catch {
      return ''; // gone
    }
  };
  const postmaster = pids.find((pid) => read(pid, 'comm').trim() === 'postgres' && `${read(pid, 'cmdline').split('\0').join(' ')} `.includes(`-p ${port} `));
  if (!postmaster) return NaN; // not on this machine
  const children = pids.filter((pid) => /PPid:\s+(\d+)/.exec(read(pid, 'status'))?.[1] === postmaster);
  return [postmaster, ...children].reduce((n, pid) => n + cpuSeconds(Number(pid)), 0);
}
const rssMb = (pid: number, field: 'VmRSS' | 'VmHWM'): number =>
  Number(new RegExp(`${field}:\\s+(\\d+)`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;

/** The server's own memory figures (prom-client's process and Node.js metrics), in MB. */
async function serverMemory(origin: string): Promise<Record<string, number>> {
  const text = await (await fetch(`${origin}/metrics`)).text();
  const metric = (name: string): number => Number(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(text)?.[1] ?? NaN) / 2 ** 20;
  return {
    'heap used': metric('nodejs_heap_size_used_bytes'),
    'heap total': metric('nodejs_heap_size_total_bytes'),
    'external (incl. buffers)': metric('nodejs_external_memory_bytes'),
  };
}

async function withClient<T>(url: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client(url);
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

async function resetSqlStats(url: string): Promise<boolean> {
  try {
    await withClient(url, async (c) => {
      await c.query('CREATE EXTENSION IF NOT EXISTS pg_stat_statements');
      await c.query('SELECT pg_stat_statements_reset()');
    });
    return true;
  } catch (err) {
    console.error(`--sql-stats: ${(err as Error).message} (start PostgreSQL with shared_preload_libraries=pg_stat_statements and pass its DATABASE_URL)`);
    return false;
  }
}

async function topStatements(url: string): Promise<Array<Record<string, string | number>>> {
  const rows = await withClient(url, (c) =>
    c.query<{ calls: number; ms: number; per_call: number; query: string }>(
      `SELECT calls::int, round(total_exec_time)::int AS ms, round((total_exec_time / calls)::numeric, 3)::float AS per_call, query
       FROM pg_stat_statements ORDER BY total_exec_time DESC LIMIT 8`,
    ),
  );
  return rows.rows.map((r) => ({ calls: r.calls, 'total ms': r.ms, 'ms/call': r.per_call, statement: r.query.replace(/\s+/g, ' ').slice(0, 90).replace(/\|/g, '/') }));
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      resources: { type: 'string', default: '100000' },
      seconds: { type: 'string', default: '300' },
      'in-flight': { type: 'string', default: '4' },
      profile: { type: 'boolean', default: false },
      'sql-stats': { type: 'boolean', default: false },
    },
  });
  const bundles = Math.ceil(Number(values.resources) / 500);
  const inFlight = Number(values['in-flight']);
  const limitMs = Number(values.seconds) * 1000;
  console.log(`# Import benchmark (${os.cpus().length} × ${os.cpus()[0]?.model}, Node ${process.version})`);
  console.log(`generating ${bundles} transaction bundles of 500 resources...`);
  // Serialised up front so the client's own CPU stays out of the measured window (the machine is shared).
  const bodies = Array.from({ length: bundles }, (_, b) => JSON.stringify(neighbourhoodBundle(b)));

  const database = await benchPostgres();
  const sqlStats = values['sql-stats'] ? await resetSqlStats(database.url) : false;
  const profDir = mkdtempSync(path.join(os.tmpdir(), 'hub-import-prof-'));
  const port = await freePort();
  const server = spawn(process.execPath, [...(values.profile ? ['--cpu-prof', `--cpu-prof-dir=${profDir}`] : []), ...SERVER_NODE_FLAGS, '--import', 'tsx', path.join(ROOT, 'server/main.ts')], {
    cwd: ROOT,
    // Authentication off, as in the other scenarios: this measures the FHIR work itself (bench/authz.ts measures authentication).
    env: { ...process.env, AUTH_DISABLED: 'true', DATABASE_URL: database.url, PORT: String(port), BASE_URL: `http://127.0.0.1:${port}/fhir`, LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const base = `http://127.0.0.1:${port}/fhir`;
  try {
    for (let i = 0; ; i++) {
      if ((await fetch(`${base}/metadata`).catch(() => undefined))?.ok) break;
      if (i > 900) throw new Error('server did not start'); // 3 minutes: a start on a loaded machine is slow
      await new Promise((r) => setTimeout(r, 200));
    }
    const pgPort = new URL(database.url).port || '5432';
    const pgCpu0 = postgresCpuSeconds(pgPort);
    const serverCpu0 = cpuSeconds(server.pid!);
    const clientCpu0 = process.cpuUsage();
    const started = Date.now();
    let loaded = 0;
    let failed = 0;
    let next = 0;
    let peakRss = 0;
    // What the RSS is made of, sampled with it: the heap (live objects and garbage not yet collected), buffers, the rest native.
    const atStart: Record<string, number> = { RSS: rssMb(server.pid!, 'VmRSS'), ...(await serverMemory(`http://127.0.0.1:${port}`)) };
    let atPeak = atStart;
    const windows: number[] = [];
    let windowStart = started;
    let windowLoaded = 0;
    const sampler = setInterval(() => {
      const rss = rssMb(server.pid!, 'VmRSS');
      if (rss > peakRss) {
        peakRss = rss;
        serverMemory(`http://127.0.0.1:${port}`).then((m) => (atPeak = { RSS: rss, ...m }), () => undefined);
      }
      if (Date.now() - windowStart >= 10_000) {
        windows.push((loaded - windowLoaded) / ((Date.now() - windowStart) / 1000));
        windowStart = Date.now();
        windowLoaded = loaded;
        process.stderr.write(`\r${loaded.toLocaleString('en-GB')} resources, ${Math.round(loaded / ((Date.now() - started) / 1000))}/s, RSS ${Math.round(rssMb(server.pid!, 'VmRSS'))} MB`);
      }
    }, 1000);
    const worker = async (): Promise<void> => {
      while (next < bodies.length && Date.now() - started < limitMs) {
        const body = bodies[next++];
        const res = await fetch(`${base}/`, { method: 'POST', headers: { 'content-type': 'application/fhir+json', prefer: 'return=minimal' }, body });
        const text = await res.text();
        if (res.status === 200) loaded += 500;
        else {
          failed++;
          if (failed <= 3) console.error(`\nbundle refused (${res.status}): ${text.slice(0, 300)}`);
        }
      }
    };
    await Promise.all(Array.from({ length: inFlight }, worker));
    clearInterval(sampler);
    const seconds = (Date.now() - started) / 1000;
    const client = process.cpuUsage(clientCpu0);
    process.stderr.write('\n');
    const rows = [
      { measure: 'resources loaded', value: loaded.toLocaleString('en-GB') },
      { measure: 'bundles refused', value: failed },
      { measure: 'wall time', value: `${seconds.toFixed(1)} s` },
      { measure: 'resources/s overall', value: Math.round(loaded / seconds) },
      { measure: 'resources/s, slowest 10 s window', value: windows.length ? Math.round(Math.min(...windows)) : '-' },
      { measure: 'resources/s, last 10 s window', value: windows.length ? Math.round(windows[windows.length - 1]) : '-' },
      { measure: 'server RSS peak (sampled 1/s)', value: `${Math.round(peakRss)} MB` },
      { measure: 'server RSS high-water mark (VmHWM)', value: `${Math.round(rssMb(server.pid!, 'VmHWM'))} MB` },
      { measure: 'server CPU', value: `${(cpuSeconds(server.pid!) - serverCpu0).toFixed(1)} s (${Math.round((100 * (cpuSeconds(server.pid!) - serverCpu0)) / seconds)}% of a core)` },
      { measure: 'PostgreSQL CPU (its postmaster and backends)', value: `${(postgresCpuSeconds(pgPort) - pgCpu0).toFixed(1)} s (${Math.round((100 * (postgresCpuSeconds(pgPort) - pgCpu0)) / seconds)}% of a core)` },
      { measure: 'CPU ms per resource: server + PostgreSQL', value: `${((1000 * (cpuSeconds(server.pid!) - serverCpu0)) / loaded).toFixed(2)} + ${((1000 * (postgresCpuSeconds(pgPort) - pgCpu0)) / loaded).toFixed(2)}` },
      { measure: 'machine load average at the end (shared machine?)', value: os.loadavg().map((l) => l.toFixed(1)).join(' ') },
      { measure: 'benchmark client CPU', value: `${((client.user + client.system) / 1e6).toFixed(1)} s` },
    ];
    printTable(`Import: transaction bundles of 500 resources, ${inFlight} in flight, local PostgreSQL`, rows);
    printTable('Server memory (MB): after start, and at the RSS peak', Object.keys(atStart).map((k) => ({ measure: k, 'after start': Math.round(atStart[k]), 'at the peak': Math.round(atPeak[k]) })));
    if (sqlStats) printTable('SQL by statement (pg_stat_statements, execution time only: parse, plan and protocol are not in it)', await topStatements(database.url));
  } finally {
    await new Promise<void>((resolve) => {
      server.once('exit', () => resolve());
      server.kill('SIGTERM');
    });
    database.stop();
  }
  if (values.profile) {
    printTable('Server CPU profile by part (samples charged to the nearest server frame)', summariseProfile(profDir));
    printTable('Hottest functions (self time)', hottestFunctions(profDir));
  }
  rmSync(profDir, { recursive: true, force: true });
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});

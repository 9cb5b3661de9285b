import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import autocannon from 'autocannon';
import { startPrivatePostgres, type PrivatePostgres } from '../scripts/private-postgres.js';
import { freePort } from '../server/net.js';

export const ROOT = path.join(__dirname, '..');

export interface Child {
  process: ChildProcess;
  url: string;
  /** Peak resident set size so far (VmHWM), in MB. */
  peakRssMb(): number;
  stop(): Promise<void>;
}

async function waitForHttp(url: string, timeoutMs = 60_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    try {
      const res = await fetch(url);
      if (res.status < 500) return;
    } catch {
      // not up yet
    }
    if (Date.now() > until) throw new Error(`${url} did not come up`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/**
 * The V8 flags `npm start` and `npm run worker` give their process (package.json), so that what
 * is measured is what runs: without V8's memory reducer, which compacts the heap once 30–65 s
 * after start and made an idle server's first minute cost 1.3–2 % of a core (BENCHMARKS.md, idle).
 */
export const SERVER_NODE_FLAGS = ['--no-memory-reducer'];

/** Starts a TypeScript entry point as its own node process (so its RSS is its own) and waits for `probe`. */
export async function startChild(entry: string, env: Record<string, string>, probe: string, startTimeoutMs = 60_000): Promise<Child> {
  const port = await freePort();
  // BENCH_CPU_PROFILE_DIR=dir: each child writes a V8 CPU profile there when it exits (what BENCHMARKS.md's profiles come from).
  const profile = process.env.BENCH_CPU_PROFILE_DIR ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROFILE_DIR}`] : [];
  const child = spawn(process.execPath, [...profile, ...SERVER_NODE_FLAGS, '--import', 'tsx', path.join(ROOT, entry)], {
    cwd: ROOT,
    // The other scenarios measure the FHIR work itself; bench/authz.ts measures what authentication adds.
    env: { ...process.env, AUTH_DISABLED: 'true', ...env, PORT: String(port), BASE_URL: `http://127.0.0.1:${port}/fhir` },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const url = `http://127.0.0.1:${port}`;
  // A child that exits (a refused configuration) fails the start at once, not after the timeout.
  const exited = new Promise<never>((_, reject) => child.once('exit', (code) => reject(new Error(`${entry} exited (${code}) before ${probe} answered`))));
  await Promise.race([waitForHttp(url + probe, startTimeoutMs), exited]).catch((err: Error) => {
    child.kill('SIGTERM'); // not left behind when it did not come up
    throw err;
  });
  exited.catch(() => undefined); // its later exit is stop()'s business
  return {
    process: child,
    url,
    peakRssMb() {
      const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
      return Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
    },
    stop: () =>
      new Promise((resolve) => {
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

export interface LoadResult {
  name: string;
  /** Requests completed in the run. */
  total: number;
  rps: number;
  p50: number;
  p99: number;
  errors: number;
  non2xx: number;
}

/** autocannon run; `requests` lets a scenario vary each request (ids, bodies). */
export async function load(name: string, options: autocannon.Options): Promise<LoadResult> {
  const result = await autocannon({ duration: 10, connections: 16, ...options });
  return {
    name,
    total: result.requests.total,
    rps: Math.round(result.requests.average),
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: result.errors,
    non2xx: result.non2xx,
  };
}

export function printTable(title: string, rows: Array<Record<string, string | number>>): void {
  console.log(`\n## ${title}\n`);
  if (!rows.length) return;
  const cols = Object.keys(rows[0]);
  console.log(`| ${cols.join(' | ')} |`);
  console.log(`| ${cols.map(() => '---').join(' | ')} |`);
  for (const r of rows) console.log(`| ${cols.map((c) => r[c]).join(' | ')} |`);
}

/** The PostgreSQL the benchmarks use: DATABASE_URL if given, else a private one. */
export async function benchPostgres(): Promise<{ url: string; stop(): void }> {
  if (process.env.DATABASE_URL) return { url: process.env.DATABASE_URL, stop: () => undefined };
  const pg: PrivatePostgres = await startPrivatePostgres();
  return pg;
}

/** `/proc/<pid>/stat` fields after the command name: [2] is the parent, [11..14] utime, stime, cutime, cstime in ticks. */
function statFields(pid: string | number): string[] | undefined {
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  } catch {
    return undefined; // gone meanwhile
  }
}

/** The whole machine's CPU so far, in ticks: busy (everything but idle and iowait) and total, from /proc/stat. */
export function machineCpuTicks(): { busy: number; total: number } {
  const [, ...fields] = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/);
  const ticks = fields.map(Number);
  const total = ticks.reduce((a, b) => a + b, 0);
  return { busy: total - ticks[3] - ticks[4], total };
}

/** The share of the machine's CPUs busy between two readings of machineCpuTicks. */
export function busyShare(from: { busy: number; total: number }, to: { busy: number; total: number }): number {
  return (to.busy - from.busy) / Math.max(1, to.total - from.total);
}

/** CPU seconds (user + system) a process has used so far. */
export function cpuSeconds(pid: number): number {
  const f = statFields(pid);
  return f ? (Number(f[11]) + Number(f[12])) / 100 : 0;
}

/**
 * CPU seconds the PostgreSQL listening on the URL's port has used: the postmaster, its live
 * backends and those it has reaped. CPU time, unlike throughput, does not drop when other work
 * shares the machine, so per-request figures from it compare across noisy runs.
 */
export function postgresCpuSeconds(url: string): number {
  const port = new URL(url).port;
  const pids = readdirSync('/proc').filter((d) => /^\d+$/.test(d));
  const master = pids.find((pid) => {
    try {
      const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      return argv[0].endsWith('postgres') && argv[argv.indexOf('-p') + 1] === port;
    } catch {
      return false;
    }
  });
  if (!master) return Number.NaN;
  let ticks = 0;
  for (const pid of pids) {
    const f = statFields(pid);
    if (!f) continue;
    if (pid === master) ticks += Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]);
    else if (f[1] === master) ticks += Number(f[11]) + Number(f[12]);
  }
  return ticks / 100;
}

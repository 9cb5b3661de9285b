// Issue 14: what a server does when nobody asks anything of it: CPU per second of wall time, the
// wake-ups it takes (context switches) and resident memory after start, on the embedded default
// (PGlite) and on PostgreSQL, workers in-process.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { benchPostgres, cpuSeconds, printTable, ROOT, startChild } from './support.js';

const SETTLE_MS = 5_000;
// Two windows: the first half-minute, and the minute after it. Somewhere in the first 30-65 s V8's
// memory reducer compacts the heap the start-up left, once allocation stops: three full
// collections in about a second, 25 ms each on the main thread and more on its helper threads.
// It runs once after activity, not while idle; the last window without it is the steady idle.
const WINDOWS_MS = [30_000, 30_000, 30_000];

function rssMb(pid: number): number {
  return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;
}

/**
 * Times the process's threads have been switched out (each a wake-up to come): a count, unlike CPU
 * time, that other work on a shared machine does not inflate. Threads that ended are not counted.
 */
function contextSwitches(pid: number): number {
  let n = 0;
  for (const task of readdirSync(`/proc/${pid}/task`)) {
    const status = readFileSync(`/proc/${pid}/task/${task}/status`, 'utf8');
    n += Number(/^voluntary_ctxt_switches:\s+(\d+)/m.exec(status)?.[1] ?? 0) + Number(/^nonvoluntary_ctxt_switches:\s+(\d+)/m.exec(status)?.[1] ?? 0);
  }
  return n;
}

export async function runIdleBenchmark(): Promise<void> {
  const pg = await benchPostgres();
  const rows: Array<Record<string, string | number>> = [];
  try {
    const layouts: Array<[string, Record<string, string>]> = [
      ['PGlite (embedded default)', { DATA_DIR: mkdtempSync(path.join(tmpdir(), 'hub-idle-')) }],
      ['PostgreSQL', { DATABASE_URL: pg.url }],
    ];
    for (const [name, env] of layouts) {
      // A first start on PGlite initialises its data directory: slow on a busy machine.
      const server = await startChild('server/main.ts', { LOG_LEVEL: 'warn', ...env }, '/fhir/metadata', 300_000);
      const pid = server.process.pid!;
      await new Promise((r) => setTimeout(r, SETTLE_MS));
      const rssAfterStart = rssMb(pid);
      const windows: Array<{ cpu: number; switches: number }> = [];
      for (const ms of WINDOWS_MS) {
        const before = cpuSeconds(pid);
        const switchesBefore = contextSwitches(pid);
        await new Promise((r) => setTimeout(r, ms));
        windows.push({ cpu: (100 * (cpuSeconds(pid) - before)) / (ms / 1000), switches: (contextSwitches(pid) - switchesBefore) / (ms / 1000) });
      }
      rows.push({
        database: name,
        'CPU idle per 30 s window (% of one core)': windows.map((w) => w.cpu.toFixed(2)).join(', '),
        'context switches per second': windows.map((w) => Math.round(w.switches)).join(', '),
        'RSS after start (MB)': Math.round(rssAfterStart),
        'peak RSS (MB)': Math.round(server.peakRssMb()),
      });
      await server.stop();
    }
  } finally {
    pg.stop();
  }
  printTable(`Idle server, workers in-process, ${WINDOWS_MS.length} windows of 30 s without a request after ${SETTLE_MS / 1000} s to settle (CPU of the server process alone)`, rows);
  printTable('What PGlite itself takes: RSS of a process before and after opening it and migrating (nothing else loaded)', pgliteAlone());
}

/** PGlite opened on a new data directory (it runs initdb), then opened again on the same one (a restart). */
function pgliteAlone(): Array<Record<string, string | number>> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'hub-pglite-'));
  const rows = ['new data directory', 'existing data directory'].map((opening) => {
    const out = execFileSync(process.execPath, ['--import', 'tsx', path.join(ROOT, 'bench', 'pglite-memory.ts')], { cwd: ROOT, env: { ...process.env, DATA_DIR: dataDir } });
    const { before, after } = JSON.parse(out.toString()) as { before: number; after: number };
    return { opening, 'RSS before (MB)': Math.round(before), 'RSS after (MB)': Math.round(after), 'PGlite (MB)': Math.round(after - before) };
  });
  rmSync(dataDir, { recursive: true, force: true });
  return rows;
}

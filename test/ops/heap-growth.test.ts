import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'chai';

const ROOT = path.join(__dirname, '..', '..');
const run = promisify(execFile);

const PROBE = path.join(ROOT, 'test', 'support', 'report-v8-flags.cjs');

/**
 * What the probe (report-v8-flags.cjs) prints of a process started by `file args`, which ends
 * there, at the first V8 flag set. Addresses nothing listens on: the flag comes before any connection.
 */
async function probed(file: string, args: string[], env: Record<string, string>): Promise<string> {
  const { stdout } = await run(file, args, {
    cwd: ROOT,
    env: { ...process.env, DATABASE_URL: 'postgres://127.0.0.1:9/none', REDIS_URL: 'redis://127.0.0.1:9', ...env },
    timeout: 60_000,
  }).catch((err: { stdout?: string }) => ({ stdout: err.stdout ?? '' }));
  return stdout;
}

/** What V8 flag an entry point sets first, with this environment. */
async function firstV8Flag(entry: string, env: Record<string, string>): Promise<string> {
  const stdout = await probed(process.execPath, ['--require', PROBE, '--import', 'tsx', path.join(ROOT, entry)], env);
  return stdout.match(/^v8 flags: (.*)$/m)?.[1] ?? 'none';
}

/** The node options of the process an npm script (package.json) starts. */
async function scriptExecArgv(script: 'start' | 'worker'): Promise<string> {
  const command = (JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts[script];
  const stdout = await probed('sh', ['-c', command], {
    PATH: `${path.join(ROOT, 'node_modules', '.bin')}:${process.env.PATH}`,
    NODE_OPTIONS: `--require ${PROBE}`,
    // The probe speaks at the first V8 flag set, the heap growth bound.
    HEAP_GROWTH_PERCENT: '50',
  });
  return stdout.match(/^exec argv: (.*)$/m)?.[1] ?? '';
}

describe('heap growth bound (HEAP_GROWTH_PERCENT)', function () {
  this.timeout(120_000);

  for (const entry of ['server/main.ts', 'workers/main.ts']) {
    it(`${entry} bounds its heap's growth before it opens anything`, async () => {
      expect(await firstV8Flag(entry, { HEAP_GROWTH_PERCENT: '37' })).to.equal('--heap-growing-percent=37');
      expect(await firstV8Flag(entry, {})).to.equal('--heap-growing-percent=50');
    });
  }

  it('HEAP_GROWTH_PERCENT=0 leaves the worker process to V8', async () => {
    expect(await firstV8Flag('workers/main.ts', { HEAP_GROWTH_PERCENT: '0' })).to.equal('none');
  });

  // V8's memory reducer compacts the heap the start-up left once allocation stops, 30-65 s after
  // start: an idle server's first minute then cost 1.3-2 % of a core (BENCHMARKS.md, idle).
  for (const script of ['start', 'worker'] as const) {
    it(`npm ${script === 'start' ? 'start' : 'run worker'} runs node without V8's memory reducer`, async () => {
      expect((await scriptExecArgv(script)).split(' ')).to.include('--no-memory-reducer');
    });
  }
});

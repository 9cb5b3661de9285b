import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'chai';

const ROOT = path.join(__dirname, '..', '..');
const run = promisify(execFile);

/** What V8 flag an entry point sets first, with this environment (the probe ends the process there). */
async function firstV8Flag(entry: string, env: Record<string, string>): Promise<string> {
  const { stdout } = await run(process.execPath, ['--require', path.join(ROOT, 'test', 'support', 'report-v8-flags.cjs'), '--import', 'tsx', path.join(ROOT, entry)], {
    cwd: ROOT,
    // Addresses nothing listens on: the flag comes before any connection.
    env: { ...process.env, DATABASE_URL: 'postgres://127.0.0.1:9/none', REDIS_URL: 'redis://127.0.0.1:9', ...env },
    timeout: 60_000,
  }).catch((err: { stdout?: string }) => ({ stdout: err.stdout ?? '' }));
  return stdout.match(/^v8 flags: (.*)$/m)?.[1] ?? 'none';
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
});

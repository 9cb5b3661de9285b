import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'chai';
import { startHubProcess, type HubProcess } from '../support/processes.js';
import { secretToken } from '../../scripts/client-http.js';

const run = promisify(execFile);
const SCRIPT = path.join(__dirname, '..', '..', 'scripts', 'client.ts');

describe('npm run client beside a running server on embedded PGlite', function () {
  this.timeout(120_000);
  let server: HubProcess;
  let env: Record<string, string>;

  before(async () => {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'hub-pglite-'));
    env = { DATA_DIR: dataDir, REDIS_URL: process.env.TEST_REDIS_URL as string, RUN_WORKERS: 'false', QUEUE_PREFIX: `cli${process.pid}` };
    server = await startHubProcess('api', env);
    // No BASE_URL for the CLI: it finds the server from the data directory it holds.
  });
  after(() => server?.kill('SIGTERM'));



  const cli = (...args: string[]) => run(process.execPath, ['--import', 'tsx', SCRIPT, ...args], { env: { ...process.env, ...env, DATABASE_URL: '', LOG_LEVEL: 'error' } });

  it('create, list and revoke go through the server with the administrator credentials; the new client gets tokens', async () => {
    const { stdout } = await cli('create', '--org', 'FA565', '--kind', 'pharmacy', '--scopes', 'system/MedicationRequest.rs', '--secret');
    const created = JSON.parse(stdout) as { client_id: string; client_secret: string };
    const origin = new URL(server.base!).origin;
    expect((await secretToken(origin, created.client_id, created.client_secret)).token).to.be.a('string');
    expect((await cli('list')).stdout).to.contain(created.client_id);
    expect((await cli('revoke', created.client_id)).stdout).to.contain('revoked');
    await secretToken(origin, created.client_id, created.client_secret).then(
      () => expect.fail('a revoked client got a token'),
      (err: Error) => expect(err.message).to.contain('401'),
    );
  });

  it('rotate-key refuses while the server holds the embedded database', async () => {
    const err = await cli('rotate-key').then(() => undefined, (e: { code: number; stderr: string }) => e);
    expect(err?.code).to.equal(2);
    expect(err?.stderr).to.contain('PGlite');
  });

  it('once the server has stopped, the CLI opens the embedded database itself', async () => {
    await server.kill('SIGTERM');
    const { stdout } = await cli('list');
    expect(stdout).to.contain('\tadmin\tactive');
  });
});

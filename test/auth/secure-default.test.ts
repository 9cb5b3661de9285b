import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { startHubProcess } from '../support/processes.js';

/** `npm start` as deployed: secure unless told otherwise, and loud about it when told. */
describe('secure by default (a server process)', function () {
  this.timeout(120_000);
  const env = () => ({ DATA_DIR: mkdtempSync(path.join(os.tmpdir(), 'hub-secure-')), REDIS_URL: process.env.TEST_REDIS_URL as string, RUN_WORKERS: 'false', QUEUE_PREFIX: `sec${process.pid}` });

  it('without AUTH_DISABLED a request without a token is 401; the credentials path is printed once', async () => {
    const server = await startHubProcess('api', env());
    try {
      const res = await fetch(`${server.base}/Patient`);
      expect(res.status).to.equal(401);
      expect(((await res.json()) as { resourceType: string }).resourceType).to.equal('OperationOutcome');
      expect(server.output().match(/administrator client credentials written to/g)).to.have.length(1);
      expect(server.output()).to.not.contain('AUTHENTICATION IS OFF');
    } finally {
      await server.kill('SIGTERM');
    }
  });

  it('AUTH_DISABLED=true serves without a token and warns at every start', async () => {
    const settings = { ...env(), AUTH_DISABLED: 'true' };
    for (let start = 0; start < 2; start++) {
      const server = await startHubProcess('api', settings);
      try {
        expect((await fetch(`${server.base}/Patient`)).status).to.equal(200);
        expect(server.output()).to.contain('AUTHENTICATION IS OFF');
      } finally {
        await server.kill('SIGTERM');
      }
    }
  });
});

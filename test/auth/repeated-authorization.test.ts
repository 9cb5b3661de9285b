import { request } from 'node:http';
import { readFileSync } from 'node:fs';
import { expect } from 'chai';
import { startTestServer, type TestServer } from '../support/server.js';
import { basic } from './harness.js';

/** A request carrying several Authorization headers: Node's `headers` keeps only the first. */
function withAuthorizations(url: string, values: string[], method = 'GET', body?: string): Promise<{ status: number; body: any }> { // eslint-disable-line @typescript-eslint/no-explicit-any
  return new Promise((resolve, reject) => {
    const headers: Record<string, string | string[]> = { authorization: values };
    if (body) headers['content-type'] = 'application/x-www-form-urlencoded';
    const req = request(url, { method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString() || 'null') }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** HTTP allows one Authorization header (RFC 9110 §11.6.2): a request with two is refused, whichever comes first. */
describe('a repeated Authorization header', function () {
  this.timeout(60_000);
  let server: TestServer;
  before(async () => {
    server = await startTestServer('pglite');
  });
  after(async () => {
    await server.stop();
  });

  it('is refused on the FHIR API (401), even with the same valid token twice; one of them alone is accepted', async () => {
    const good = `Bearer ${await server.adminToken()}`;
    expect((await withAuthorizations(`${server.base}/Patient`, [good])).status).to.equal(200);
    for (const values of [
      [good, good],
      [good, 'Bearer not-a-token'],
      ['Bearer not-a-token', good],
    ]) {
      const res = await withAuthorizations(`${server.base}/Patient`, values);
      expect(res.status, values.join(' | ')).to.equal(401);
      expect(res.body.resourceType).to.equal('OperationOutcome');
    }
  });

  it('is refused at the token endpoint (invalid_client), even with the same client secret twice', async () => {
    const creds = JSON.parse(readFileSync(server.running.services.config.auth.adminCredentialsFile, 'utf8')) as { client_id: string; client_secret: string };
    const secret = basic(creds.client_id, creds.client_secret);
    const form = 'grant_type=client_credentials&scope=system%2F*.rs';
    const tokenUrl = server.base.replace(/\/fhir$/, '/oauth2/token');
    expect((await withAuthorizations(tokenUrl, [secret], 'POST', form)).status).to.equal(200);
    const res = await withAuthorizations(tokenUrl, [secret, secret], 'POST', form);
    expect(res.status).to.equal(401);
    expect(res.body.error).to.equal('invalid_client');
  });
});

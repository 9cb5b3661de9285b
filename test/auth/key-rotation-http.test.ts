import { expect } from 'chai';
import { decodeProtectedHeader } from 'jose';
import { startTestServer, type TestServer } from '../support/server.js';

describe('signing key rotation over HTTP (administrators only)', function () {
  this.timeout(60_000);
  let server: TestServer;
  before(async () => {
    server = await startTestServer('pglite');
  });
  after(() => server.stop());

  const rotate = (token?: string) => fetch(`${server.running.url}/oauth2/signing-keys`, { method: 'POST', headers: token ? { authorization: `Bearer ${token}` } : {} });
  const jwksKids = async () => ((await (await fetch(`${server.running.url}/.well-known/jwks.json`)).json()) as { keys: Array<{ kid: string }> }).keys.map((k) => k.kid);

  it('POST /oauth2/signing-keys makes a new key the signer; tokens signed with the old one still work', async () => {
    const before = await server.clientToken({ kind: 'admin', org: 'HUB2', scopes: ['system/*.cruds'] });
    const oldKid = decodeProtectedHeader(before).kid;
    const res = await rotate(before);
    expect(res.status).to.equal(201);
    const { kid } = (await res.json()) as { kid: string };
    expect(kid).to.not.equal(oldKid);
    expect(await jwksKids()).to.include.members([kid, oldKid]);
    const after = await server.clientToken({ kind: 'admin', org: 'HUB3', scopes: ['system/*.cruds'] });
    expect(decodeProtectedHeader(after).kid).to.equal(kid);
    expect((await server.fhir('GET', 'Patient', { as: before })).status).to.equal(200);
  });

  it('other clients get 403 and no token 401; nothing rotates', async () => {
    const kids = await jwksKids();
    const gp = await server.clientToken({ kind: 'gp-practice', org: 'B84002', scopes: ['system/*.rs'] });
    expect((await rotate(gp)).status).to.equal(403);
    expect((await rotate()).status).to.equal(401);
    expect(await jwksKids()).to.deep.equal(kids);
  });

  it('the plain routes answer a method they do not take with 405 and Allow, not 404', async () => {
    const allowed: Array<[string, string]> = [
      ['/.well-known/smart-configuration', 'GET, HEAD'],
      ['/fhir/.well-known/smart-configuration', 'GET, HEAD'],
      ['/.well-known/jwks.json', 'GET, HEAD'],
      ['/oauth2/signing-keys', 'POST'],
      ['/oauth2/clients', 'GET, HEAD, POST'],
      ['/oauth2/clients/some-client', 'DELETE'],
    ];
    for (const [path, allow] of allowed) {
      const res = await fetch(`${server.running.url}${path}`, { method: 'PUT' });
      expect([path, res.status, res.headers.get('allow')]).to.deep.equal([path, 405, allow]);
      expect(((await res.json()) as { resourceType: string }).resourceType).to.equal('OperationOutcome');
    }
  });
});

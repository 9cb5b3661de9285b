import { expect } from 'chai';
import { secretToken } from '../../scripts/client-http.js';
import { startTestServer, type TestServer } from '../support/server.js';

describe('client registration over HTTP (administrators only)', function () {
  this.timeout(60_000);
  let server: TestServer;
  const call = async (method: string, path: string, token: string | undefined, body?: unknown) => {
    const res = await fetch(`${server.running.url}${path}`, {
      method,
      headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined };
  };

  before(async () => {
    server = await startTestServer('pglite');
  });
  after(() => server.stop());

  it('an administrator registers a pharmacy with a secret; the pharmacy gets a token and sees only what its policy allows', async () => {
    const created = await call('POST', '/oauth2/clients', await server.adminToken(), { org: 'FA565', kind: 'pharmacy', scopes: 'system/MedicationRequest.rs system/Patient.rs', secret: true });
    expect(created.status).to.equal(201);
    expect(created.body).to.include({ kind: 'pharmacy', org: 'FA565' });
    expect(created.body.token_endpoint).to.equal(`${server.running.url}/oauth2/token`);
    const { token } = await secretToken(server.running.url, created.body.client_id, created.body.client_secret);
    expect((await server.fhir('GET', 'MedicationRequest', { as: token })).status).to.equal(200);
    expect((await server.fhir('GET', 'CareTeam', { as: token })).status).to.equal(403);
    const listed = await call('GET', '/oauth2/clients', await server.adminToken());
    expect(listed.body.map((c: { id: string }) => c.id)).to.include(created.body.client_id);
    expect(JSON.stringify(listed.body)).to.not.contain(created.body.client_secret);
    const entry = listed.body.find((c: { id: string }) => c.id === created.body.client_id);
    expect(entry).to.include({ authentication: 'client_secret_basic', revoked: false });
    expect(new Date(entry.created).toISOString()).to.equal(entry.created);
    expect(new Date(entry.lastToken).toISOString(), 'the token it was issued above').to.equal(entry.lastToken);
  });

  it('other clients get 403, no token 401, a bad registration 400; revoking stops new tokens', async () => {
    const gp = await server.clientToken({ kind: 'gp-practice', org: 'B84002', scopes: ['system/*.rs'] });
    expect((await call('POST', '/oauth2/clients', gp, { org: 'X1', kind: 'admin', scopes: 'system/*.cruds', secret: true })).status).to.equal(403);
    expect((await call('GET', '/oauth2/clients', undefined)).status).to.equal(401);
    const bad = await call('POST', '/oauth2/clients', await server.adminToken(), { org: 'FA565', kind: 'bank', scopes: 'system/*.rs', secret: true });
    expect(bad.status).to.equal(400);
    expect(bad.body.resourceType).to.equal('OperationOutcome');
    // Values that would make an unusable client, or reach the database as it cannot take them.
    const key = { kty: 'EC', crv: 'P-384', x: 'A'.repeat(64), y: 'A'.repeat(64) };
    for (const fields of [
      { org: ['NL0042'], kind: 'voluntary', scopes: 'system/*.rs', secret: true },
      { org: 42, kind: 'voluntary', scopes: 'system/*.rs', secret: true },
      { org: 'A'.repeat(60_000), kind: 'voluntary', scopes: 'system/*.rs', secret: true },
      { org: 'NL0042', kind: 'voluntary', scopes: 'system/*.rs', jwks: { keys: [{ ...key, kid: { a: 1 } }] } },
      { org: 'NL0042', kind: 'voluntary', scopes: 'system/*.rs', jwks: { keys: [{ ...key, kid: 'k\u0000' }] } },
    ]) {
      const refused = await call('POST', '/oauth2/clients', await server.adminToken(), fields);
      expect(refused.status, JSON.stringify(fields).slice(0, 100)).to.equal(400);
      expect(refused.body.issue[0].diagnostics).to.not.match(/invalid byte sequence|Unicode escape/);
    }
    // A key whose point lies on no curve: it could never verify an assertion.
    const offCurve = await call('POST', '/oauth2/clients', await server.adminToken(), { org: 'NL0042', kind: 'voluntary', scopes: 'system/*.rs', jwks: { keys: [{ ...key, kid: 'k1' }] } });
    expect(offCurve.status).to.equal(400);
    expect(offCurve.body.issue[0].diagnostics).to.match(/'k1' is not a public key/);
    const created = await call('POST', '/oauth2/clients', await server.adminToken(), { org: 'NL0042', kind: 'voluntary', scopes: ['system/CareTeam.rs'], secret: true });
    const unused = (await call('GET', '/oauth2/clients', await server.adminToken())).body.find((c: { id: string }) => c.id === created.body.client_id);
    expect(unused.lastToken, 'never issued a token').to.equal(null);
    expect((await call('DELETE', `/oauth2/clients/${created.body.client_id}`, await server.adminToken())).status).to.equal(204);
    await secretToken(server.running.url, created.body.client_id, created.body.client_secret).then(
      () => expect.fail('a revoked client got a token'),
      (err: Error) => expect(err.message).to.contain('401'),
    );
    expect((await call('DELETE', `/oauth2/clients/${created.body.client_id}`, await server.adminToken())).status).to.equal(404);
  });
});

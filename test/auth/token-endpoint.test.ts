import { expect } from 'chai';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { generateSecret } from '../../server/auth/secrets.js';
import type { Db } from '../../server/store/db.js';
import { assertionForm, basic, openTestDb, registerKeyClient, startHarness, type AuthHarness } from './harness.js';
import { DB_KINDS } from '../support/server.js';

for (const kind of DB_KINDS) {
  describe(`token endpoint and discovery [${kind}]`, function () {
    this.timeout(60_000);
    let db: Db;
    let h: AuthHarness;
    before(async () => {
      db = await openTestDb(kind);
      h = await startHarness(db);
    });
    after(async () => {
      await h.close();
      await db.close();
    });

    for (const alg of ['RS384', 'ES384'] as const) {
      it(`issues an ES384 access token for a private_key_jwt assertion signed ${alg}, and the token authenticates`, async () => {
        const client = await registerKeyClient(h, alg, ['system/*.rs'], 'pharmacy', 'FA123');
        const res = await h.token(assertionForm(await client.assertion(), 'system/Patient.rs'));
        expect(res.status, JSON.stringify(res.body)).to.equal(200);
        expect(res.headers.get('cache-control')).to.equal('no-store');
        expect(res.body).to.include({ token_type: 'bearer', expires_in: 300, scope: 'system/Patient.rs' });
        expect(decodeProtectedHeader(res.body.access_token).alg).to.equal('ES384');
        const claims = decodeJwt(res.body.access_token);
        expect(claims).to.include({ iss: h.origin, sub: client.id, aud: h.base, scope: 'system/Patient.rs', org: 'FA123', kind: 'pharmacy' });
        expect(claims.exp! - claims.iat!).to.equal(300);
        expect(claims.jti).to.be.a('string');
        const me = await h.whoami(`Bearer ${res.body.access_token}`);
        expect(me.status).to.equal(200);
        expect(me.body).to.deep.equal({ clientId: client.id, org: 'FA123', kind: 'pharmacy', scopes: ['system/Patient.rs'] });
        expect(h.audits.at(-1)).to.deep.include({ clientId: client.id, outcome: 'success', org: 'FA123', kind: 'pharmacy', scopes: ['system/Patient.rs'] });
      });
    }

    it('authenticates client_secret_basic, and rejects a wrong secret with 401 invalid_client', async () => {
      const secret = generateSecret();
      const client = await h.runtime.clients.create({ org: 'B82001', kind: 'gp-practice', scopes: ['system/*.cruds'], secret });
      const ok = await h.token({ grant_type: 'client_credentials' }, { authorization: basic(client.id, secret) });
      expect(ok.status, JSON.stringify(ok.body)).to.equal(200);
      expect(ok.body.scope).to.equal('system/*.cruds');
      expect((await h.whoami(`Bearer ${ok.body.access_token}`)).body.kind).to.equal('gp-practice');
      const wrong = await h.token({ grant_type: 'client_credentials' }, { authorization: basic(client.id, `${secret}x`) });
      expect(wrong.status).to.equal(401);
      expect(wrong.body.error).to.equal('invalid_client');
      expect(h.audits.at(-1)).to.include({ clientId: client.id, outcome: 'failure' });
    });

    it('narrows requested scopes to the registered ones and answers invalid_scope when nothing is grantable', async () => {
      const client = await registerKeyClient(h, 'ES384', ['system/*.cruds']);
      const narrowed = await h.token(assertionForm(await client.assertion(), 'system/Patient.rs system/*.read launch/patient user/Patient.rs'));
      expect(narrowed.status).to.equal(200);
      expect(narrowed.body.scope).to.equal('system/Patient.rs system/*.read');
      const all = await h.token(assertionForm(await client.assertion()));
      expect(all.body.scope).to.equal('system/*.cruds');
      const pharmacy = await registerKeyClient(h, 'ES384', ['system/MedicationRequest.rs', 'system/Patient.r']);
      const partial = await h.token(assertionForm(await pharmacy.assertion(), 'system/*.cruds'));
      expect(partial.body.scope).to.equal('system/MedicationRequest.rs system/Patient.r');
      const none = await h.token(assertionForm(await pharmacy.assertion(), 'system/Observation.rs system/Patient.c'));
      expect(none.status).to.equal(400);
      expect(none.body.error).to.equal('invalid_scope');
      expect(none.headers.get('cache-control')).to.equal('no-store');
    });

    it('answers RFC 6749 errors for a wrong grant type, a missing grant type, a non-form body and no client authentication', async () => {
      const client = await registerKeyClient(h, 'ES384');
      const grant = await h.token({ ...assertionForm(await client.assertion()), grant_type: 'authorization_code' });
      expect([grant.status, grant.body.error]).to.deep.equal([400, 'unsupported_grant_type']);
      const missing = await h.token({ client_assertion: await client.assertion() });
      expect([missing.status, missing.body.error]).to.deep.equal([400, 'invalid_request']);
      const json = await fetch(`${h.origin}/oauth2/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
      expect([json.status, (await json.json()).error]).to.deep.equal([400, 'invalid_request']);
      const anonymous = await h.token({ grant_type: 'client_credentials' });
      expect([anonymous.status, anonymous.body.error]).to.deep.equal([401, 'invalid_client']);
      expect(anonymous.body.error_description).to.be.a('string');
    });

    it('answers a body it cannot read as an RFC 6749 error with the parser\'s status, audited, and other methods with 405 and Allow: POST', async () => {
      const form = { 'content-type': 'application/x-www-form-urlencoded' };
      const refusals = [
        [413, { headers: form, body: 'a'.repeat(70_000) }],
        [400, { headers: { ...form, 'content-encoding': 'gzip' }, body: 'not gzip' }],
        [415, { headers: { ...form, 'content-encoding': 'nonsense' }, body: 'x' }],
      ] as const;
      for (const [status, init] of refusals) {
        const audited = h.audits.length;
        const res = await fetch(`${h.origin}/oauth2/token`, { method: 'POST', ...init });
        expect(res.status).to.equal(status);
        expect(res.headers.get('cache-control')).to.equal('no-store');
        expect((await res.json()).error).to.equal('invalid_request');
        expect(h.audits.slice(audited).map((a) => a.outcome)).to.deep.equal(['failure']);
      }
      for (const method of ['GET', 'PUT', 'DELETE']) {
        const res = await fetch(`${h.origin}/oauth2/token`, { method });
        expect([res.status, res.headers.get('allow'), (await res.json()).error]).to.deep.equal([405, 'POST', 'invalid_request']);
      }
    });

    for (const path of ['/.well-known/smart-configuration', '/fhir/.well-known/smart-configuration']) {
      it(`serves SMART discovery at ${path}`, async () => {
        const res = await fetch(`${h.origin}${path}`);
        expect(res.status).to.equal(200);
        const body = await res.json();
        expect(body).to.deep.include({
          token_endpoint: `${h.origin}/oauth2/token`,
          jwks_uri: `${h.origin}/.well-known/jwks.json`,
          token_endpoint_auth_methods_supported: ['private_key_jwt', 'client_secret_basic'],
          token_endpoint_auth_signing_alg_values_supported: ['RS384', 'ES384'],
          grant_types_supported: ['client_credentials'],
          capabilities: ['client-confidential-asymmetric', 'permission-v2', 'permission-v1'],
        });
        expect(body.scopes_supported).to.include('system/*.cruds');
      });
    }

    it('serves the public signing keys at /.well-known/jwks.json, without private parts, matching the kid of issued tokens', async () => {
      const client = await registerKeyClient(h, 'ES384');
      const token = (await h.token(assertionForm(await client.assertion()))).body.access_token;
      const jwks = await (await fetch(`${h.origin}/.well-known/jwks.json`)).json();
      expect(jwks.keys.map((k: { kid: string }) => k.kid)).to.include(decodeProtectedHeader(token).kid);
      for (const key of jwks.keys) {
        expect(key).to.include({ kty: 'EC', crv: 'P-384', alg: 'ES384', use: 'sig' });
        expect(key).not.to.have.property('d');
      }
    });

    it('answers 401 with a Bearer challenge for a missing token (login) and a garbage one (security)', async () => {
      const missing = await h.whoami();
      expect(missing.status).to.equal(401);
      expect(missing.body.issue[0].code).to.equal('login');
      expect(missing.headers.get('www-authenticate')).to.equal('Bearer realm="fhir"');
      const garbage = await h.whoami('Bearer not.a.token');
      expect(garbage.status).to.equal(401);
      expect(garbage.body.issue[0].code).to.equal('security');
      expect(garbage.headers.get('www-authenticate')).to.equal('Bearer realm="fhir", error="invalid_token"');
    });
  });
}

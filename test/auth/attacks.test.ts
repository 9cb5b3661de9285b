import { createPublicKey, type JsonWebKey } from 'node:crypto';
import { expect } from 'chai';
import { exportSPKI, generateKeyPair, SignJWT, UnsecuredJWT } from 'jose';
import type { Db } from '../../server/store/db.js';
import { assertionClaims, assertionForm, openTestDb, registerKeyClient, serverSigningKey, signAssertion, startHarness, type AuthHarness, type KeyClient } from './harness.js';

describe('token attacks are rejected', function () {
  this.timeout(60_000);
  let db: Db;
  let h: AuthHarness;
  let rsa: KeyClient;
  before(async () => {
    db = await openTestDb('postgres');
    h = await startHarness(db);
    rsa = await registerKeyClient(h, 'RS384');
  });
  after(async () => {
    await h.close();
    await db.close();
  });

  const rejected = async (assertion: string, because: RegExp): Promise<void> => {
    const res = await h.token(assertionForm(assertion));
    expect(res.status, JSON.stringify(res.body)).to.equal(401);
    expect(res.body.error).to.equal('invalid_client');
    expect(res.body.error_description).to.match(because);
    expect(h.audits.at(-1)?.outcome).to.equal('failure');
  };

  describe('client assertions', () => {
    it('accepts the well-formed assertion the attacks below start from', async () => {
      expect((await h.token(assertionForm(await rsa.assertion()))).status).to.equal(200);
    });

    it('bad signature: signed by another key under the registered kid', async () => {
      const other = await generateKeyPair('RS384');
      await rejected(await signAssertion(other.privateKey, { alg: 'RS384', kid: rsa.kid }, assertionClaims(h, rsa.id)), /signature/);
    });

    it('wrong audience', async () => {
      await rejected(await rsa.assertion({ aud: `${h.base}/metadata` }), /aud/);
    });

    it('expired', async () => {
      const now = Math.floor(Date.now() / 1000);
      await rejected(await rsa.assertion({ exp: now - 120 }), /exp/);
    });

    it('missing exp, and exp more than five minutes ahead', async () => {
      await rejected(await rsa.assertion({ exp: undefined }), /exp/);
      await rejected(await rsa.assertion({ exp: Math.floor(Date.now() / 1000) + 600 }), /five minutes/);
    });

    it('replayed jti (also the second time with another scope), and missing jti', async () => {
      const assertion = await rsa.assertion({ jti: 'once-only' });
      expect((await h.token(assertionForm(assertion))).status).to.equal(200);
      await rejected(assertion, /already used/);
      const again = await h.token(assertionForm(await rsa.assertion({ jti: 'once-only' }), 'system/Patient.rs'));
      expect(again.status).to.equal(401);
      await rejected(await rsa.assertion({ jti: undefined }), /jti/);
    });

    it('a jti that is no string, or holds a NUL; an iss that holds a NUL', async () => {
      for (const jti of [null, 5, { a: 1 }, '', 'a\u0000b']) await rejected(await rsa.assertion({ jti } as never), /jti/);
      await rejected(await rsa.assertion({ iss: 'a\u0000b', sub: 'a\u0000b' }), /client/i);
    });

    it('unknown kid', async () => {
      await rejected(await rsa.assertion({}, { kid: 'not-registered' }), /key/i);
    });

    it('no kid, or a kid that is no string (SMART requires the header to name the key)', async () => {
      await rejected(await rsa.assertion({}, { kid: undefined }), /kid/);
      await rejected(await rsa.assertion({}, { kid: 7 }), /kid/);
    });

    it('iss and sub not the client id', async () => {
      const other = await registerKeyClient(h, 'ES384');
      await rejected(await rsa.assertion({ sub: other.id }), /sub/);
    });

    it('alg none', async () => {
      const unsecured = new UnsecuredJWT(assertionClaims(h, rsa.id)).encode();
      await rejected(unsecured, /alg/i);
    });

    it('HS256 signed with the registered public key as the HMAC secret', async () => {
      const pem = await exportSPKI(createPublicKey({ key: rsa.publicJwk as JsonWebKey, format: 'jwk' }));
      await rejected(await signAssertion(new TextEncoder().encode(pem), { alg: 'HS256', kid: rsa.kid }, assertionClaims(h, rsa.id)), /alg/i);
      await rejected(await signAssertion(new TextEncoder().encode(JSON.stringify(rsa.publicJwk)), { alg: 'HS384', kid: rsa.kid }, assertionClaims(h, rsa.id)), /alg/i);
    });

    it('RS256 (an algorithm SMART does not allow), even with the right key', async () => {
      await rejected(await signAssertion(rsa.privateKey, { alg: 'RS256', kid: rsa.kid }, assertionClaims(h, rsa.id)), /alg/i);
    });

    it('unknown client', async () => {
      await rejected(await rsa.assertion({ iss: 'no-such-client', sub: 'no-such-client' }), /Unknown client/);
    });

    it('revoked client, and its earlier access token stops working', async () => {
      const client = await registerKeyClient(h, 'ES384');
      const token = (await h.token(assertionForm(await client.assertion()))).body.access_token;
      expect((await h.whoami(`Bearer ${token}`)).status).to.equal(200);
      expect(await h.runtime.clients.revoke(client.id)).to.equal(true);
      await rejected(await client.assertion(), /revoked/);
      const res = await h.whoami(`Bearer ${token}`);
      expect(res.status).to.equal(401);
      expect(res.body.issue[0]).to.include({ code: 'security' });
      expect(res.body.issue[0].diagnostics).to.match(/revoked/);
    });
  });

  describe('access tokens', () => {
    let good: string;
    before(async () => {
      good = (await h.token(assertionForm(await rsa.assertion()))).body.access_token;
    });

    const refused = async (token: string, code: 'security' | 'expired', because: RegExp): Promise<void> => {
      const res = await h.whoami(`Bearer ${token}`);
      expect(res.status, JSON.stringify(res.body)).to.equal(401);
      expect(res.body.issue[0].code).to.equal(code);
      expect(res.body.issue[0].diagnostics).to.match(because);
      expect(res.headers.get('www-authenticate')).to.equal('Bearer realm="fhir", error="invalid_token"');
    };

    /** A token signed with the server's own key, so only the claim under test is wrong. */
    const serverSigned = async (claims: Record<string, unknown>, ttl = 300): Promise<string> => {
      const { kid, key } = await serverSigningKey(db);
      const now = Math.floor(Date.now() / 1000);
      return new SignJWT({ scope: 'system/*.rs', org: 'FA123', kind: 'pharmacy', iss: h.origin, sub: rsa.id, aud: h.base, iat: now, exp: now + ttl, jti: 'x', ...claims })
        .setProtectedHeader({ alg: 'ES384', kid, typ: 'at+jwt' })
        .sign(key);
    };

    it('accepts the good token and one the test signs itself with the server key', async () => {
      expect((await h.whoami(`Bearer ${good}`)).status).to.equal(200);
      expect((await h.whoami(`Bearer ${await serverSigned({})}`)).status).to.equal(200);
    });

    it('bad signature: payload altered', async () => {
      const [header, payload, signature] = good.split('.');
      const altered = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(payload, 'base64url').toString()), scope: 'system/*.cruds', kind: 'admin' })).toString('base64url');
      await refused(`${header}.${altered}.${signature}`, 'security', /signature/);
    });

    it('wrong audience', async () => {
      await refused(await serverSigned({ aud: 'https://other-hub.example/fhir' }), 'security', /aud/);
    });

    it('expired, with the issue code expired', async () => {
      await refused(await serverSigned({}, -60), 'expired', /expired/);
    });

    it('unknown kid', async () => {
      const stranger = await generateKeyPair('ES384');
      const now = Math.floor(Date.now() / 1000);
      const token = await new SignJWT({ scope: 'system/*.cruds', org: 'HUB', kind: 'admin' })
        .setProtectedHeader({ alg: 'ES384', kid: 'made-up', typ: 'at+jwt' })
        .setIssuer(h.origin)
        .setSubject(rsa.id)
        .setAudience(h.base)
        .setExpirationTime(now + 60)
        .setJti('y')
        .sign(stranger.privateKey);
      await refused(token, 'security', /made-up/);
    });

    it('alg none', async () => {
      const token = new UnsecuredJWT({ scope: 'system/*.cruds', org: 'HUB', kind: 'admin', jti: 'z' }).setIssuer(h.origin).setSubject(rsa.id).setAudience(h.base).setExpirationTime('5m').encode();
      await refused(token, 'security', /alg/i);
    });

    it('HS256 signed with the published public key as the HMAC secret', async () => {
      const jwks = await (await fetch(`${h.origin}/.well-known/jwks.json`)).json();
      const published = jwks.keys[0];
      const pem = await exportSPKI(createPublicKey({ key: published, format: 'jwk' }));
      for (const secret of [pem, JSON.stringify(published)]) {
        const now = Math.floor(Date.now() / 1000);
        const token = await new SignJWT({ scope: 'system/*.cruds', org: 'HUB', kind: 'admin', iss: h.origin, sub: rsa.id, aud: h.base, exp: now + 60, jti: 'h' })
          .setProtectedHeader({ alg: 'HS256', kid: published.kid, typ: 'at+jwt' })
          .sign(new TextEncoder().encode(secret));
        await refused(token, 'security', /alg/i);
      }
    });

    it('a client assertion presented as an access token', async () => {
      await refused(await rsa.assertion({ aud: h.base }), 'security', /.+/);
    });
  });
});

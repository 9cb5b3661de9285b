import { expect } from 'chai';
import { decodeProtectedHeader } from 'jose';
import type { Db } from '../../server/store/db.js';
import { assertionForm, openTestDb, registerKeyClient, startHarness, type AuthHarness, type KeyClient } from './harness.js';
import { freshPostgresUrl } from '../support/server.js';

/** The key reload an unknown kid triggers is throttled to one per 2 s (server/auth/signing-keys.ts). */
const pastReloadThrottle = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 2_100));

describe('two API processes on one PostgreSQL database', function () {
  this.timeout(60_000);
  let dbA: Db;
  let dbB: Db;
  let a: AuthHarness;
  let b: AuthHarness;
  let client: KeyClient;
  before(async () => {
    const databaseUrl = await freshPostgresUrl();
    // Separate pools and runtimes: nothing is shared but the database.
    dbA = await openTestDb({ databaseUrl });
    dbB = await openTestDb({ databaseUrl });
    a = await startHarness(dbA);
    b = await startHarness(dbB);
    // Both stand behind one public address: same issuer and audience.
    b.config.baseUrl = a.config.baseUrl;
    client = await registerKeyClient(a, 'ES384');
  });
  after(async () => {
    await Promise.all([a.close(), b.close()]);
    await Promise.all([dbA.close(), dbB.close()]);
  });

  it('created one signing key and one admin client between them', async () => {
    expect(await dbA.query('SELECT kid FROM auth_signing_key')).to.have.length(1);
    expect(await dbA.query("SELECT id FROM auth_client WHERE kind = 'admin'")).to.have.length(1);
  });

  it('a token issued by one process is accepted by the other', async () => {
    const token = (await a.token(assertionForm(await client.assertion()))).body.access_token;
    const me = await b.whoami(`Bearer ${token}`);
    expect(me.status, JSON.stringify(me.body)).to.equal(200);
    expect(me.body.clientId).to.equal(client.id);
  });

  it('an assertion used at one process is a replay at the other', async () => {
    const assertion = await client.assertion();
    expect((await a.token(assertionForm(assertion))).status).to.equal(200);
    const replay = await b.token(assertionForm(assertion));
    expect(replay.status).to.equal(401);
    expect(replay.body.error_description).to.match(/already used/);
  });

  it('a client revoked through one process is refused by the other (after its short cache)', async () => {
    const other = await registerKeyClient(a, 'RS384');
    const token = (await a.token(assertionForm(await other.assertion()))).body.access_token;
    expect((await b.whoami(`Bearer ${token}`)).status).to.equal(200);
    await a.runtime.clients.revoke(other.id);
    expect((await b.token(assertionForm(await other.assertion()))).body.error).to.equal('invalid_client');
    await new Promise((resolve) => setTimeout(resolve, 5_100));
    expect((await b.whoami(`Bearer ${token}`)).status).to.equal(401);
  });

  it('key rotation: old tokens stay valid in both processes, new tokens carry the new kid, both keys are published', async () => {
    const before = (await a.token(assertionForm(await client.assertion()))).body.access_token;
    const oldKid = decodeProtectedHeader(before).kid;
    const newKid = await a.runtime.rotateKey();
    expect(newKid).to.not.equal(oldKid);
    const after = (await a.token(assertionForm(await client.assertion()))).body.access_token;
    expect(decodeProtectedHeader(after).kid).to.equal(newKid);
    await pastReloadThrottle();
    for (const h of [a, b]) {
      expect((await h.whoami(`Bearer ${before}`)).status, 'token of the retired key').to.equal(200);
      expect((await h.whoami(`Bearer ${after}`)).status, 'token of the new key').to.equal(200);
      const jwks = await (await fetch(`${h.origin}/.well-known/jwks.json`)).json();
      expect(jwks.keys.map((k: { kid: string }) => k.kid)).to.have.members([oldKid, newKid]);
    }
  });
});

describe('a retired key stops verifying once its tokens have expired', function () {
  this.timeout(60_000);
  it('drops the key from verification and the JWKS after TTL plus the reload period', async () => {
    const db = await openTestDb('pglite');
    const h = await startHarness(db);
    const client = await registerKeyClient(h, 'ES384');
    const old = (await h.token(assertionForm(await client.assertion()))).body.access_token;
    const oldKid = decodeProtectedHeader(old).kid;
    await h.runtime.rotateKey();
    // Pretend the rotation happened long ago.
    await db.query("UPDATE auth_signing_key SET retired_at = now() - interval '1 hour' WHERE kid = $1", [oldKid]);
    await h.runtime.rotateKey(); // reloads the keys
    const jwks = await (await fetch(`${h.origin}/.well-known/jwks.json`)).json();
    expect(jwks.keys.map((k: { kid: string }) => k.kid)).not.to.include(oldKid);
    expect((await h.whoami(`Bearer ${old}`)).status).to.equal(401);
    await h.close();
    await db.close();
  });
});

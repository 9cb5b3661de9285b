import { readFileSync, rmSync, statSync } from 'node:fs';
import { expect } from 'chai';
import type { Db } from '../../server/store/db.js';
import { basic, openTestDb, startHarness } from './harness.js';
import { DB_KINDS, freshPostgresUrl } from '../support/server.js';

for (const kind of DB_KINDS) {
  describe(`first-start administrator client [${kind}]`, function () {
    this.timeout(60_000);
    let db: Db;
    before(async () => {
      db = await openTestDb(kind);
    });
    after(async () => db.close());

    it('writes owner-only credentials once that get an admin token; a restart leaves them alone', async () => {
      const first = await startHarness(db, { adminOrg: 'Y01234' });
      const file = first.config.auth.adminCredentialsFile;
      expect(statSync(file).mode & 0o777).to.equal(0o600);
      const credentials = JSON.parse(readFileSync(file, 'utf8'));
      expect(credentials).to.include({ kind: 'admin', org: 'Y01234' });
      expect(credentials.scopes).to.deep.equal(['system/*.cruds']);
      expect(credentials.token_endpoint).to.equal('http://placeholder/oauth2/token');
      const res = await first.token({ grant_type: 'client_credentials' }, { authorization: basic(credentials.client_id, credentials.client_secret) });
      expect(res.status, JSON.stringify(res.body)).to.equal(200);
      expect((await first.whoami(`Bearer ${res.body.access_token}`)).body).to.deep.equal({ clientId: credentials.client_id, org: 'Y01234', kind: 'admin', scopes: ['system/*.cruds'] });
      await first.close();

      const second = await startHarness(db, { adminCredentialsFile: file });
      expect(readFileSync(file, 'utf8')).to.equal(`${JSON.stringify(credentials, null, 2)}\n`);
      rmSync(file);
      await second.close();
      const third = await startHarness(db, { adminCredentialsFile: file });
      expect(() => statSync(file), 'an admin exists: nothing is written').to.throw(/ENOENT/);
      await third.close();
      expect(await db.query("SELECT id FROM auth_client WHERE kind = 'admin'")).to.have.length(1);
    });

    it('creates a new admin when the only one is revoked', async () => {
      await db.query("UPDATE auth_client SET revoked_at = now() WHERE kind = 'admin'");
      const h = await startHarness(db);
      expect(statSync(h.config.auth.adminCredentialsFile).isFile()).to.equal(true);
      expect(await db.query("SELECT id FROM auth_client WHERE kind = 'admin' AND revoked_at IS NULL")).to.have.length(1);
      await h.close();
    });
  });
}

describe('first start of several processes at once', function () {
  this.timeout(60_000);
  it('creates exactly one admin client and one signing key', async () => {
    const databaseUrl = await freshPostgresUrl();
    const dbs = await Promise.all([1, 2, 3].map(() => openTestDb({ databaseUrl })));
    const harnesses = await Promise.all(dbs.map((db) => startHarness(db)));
    expect(await dbs[0].query("SELECT id FROM auth_client WHERE kind = 'admin'")).to.have.length(1);
    expect(await dbs[0].query('SELECT kid FROM auth_signing_key')).to.have.length(1);
    const written = harnesses.filter((h) => {
      try {
        return statSync(h.config.auth.adminCredentialsFile).isFile();
      } catch {
        return false;
      }
    });
    expect(written).to.have.length(1);
    await Promise.all(harnesses.map((h) => h.close()));
    await Promise.all(dbs.map((db) => db.close()));
  });
});

describe('AUTH_DISABLED', function () {
  this.timeout(60_000);
  it('lets every request through as an unrestricted administrator and creates no admin client', async () => {
    const db = await openTestDb('pglite');
    const h = await startHarness(db, { disabled: true });
    const me = await h.whoami();
    expect(me.status).to.equal(200);
    expect(me.body).to.include({ kind: 'admin', org: 'HUB' });
    expect(await db.query('SELECT id FROM auth_client')).to.have.length(0);
    await h.close();
    await db.close();
  });
});

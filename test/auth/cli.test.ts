import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'chai';
import { exportJWK, generateKeyPair } from 'jose';
import type { Db } from '../../server/store/db.js';
import { assertionForm, basic, openTestDb, signAssertion, assertionClaims, startHarness, type AuthHarness } from './harness.js';
import { freshPostgresUrl } from '../support/server.js';

const run = promisify(execFile);
const SCRIPT = path.join(__dirname, '..', '..', 'scripts', 'client.ts');

describe('npm run client (scripts/client.ts) against PostgreSQL', function () {
  this.timeout(60_000);
  let databaseUrl: string;
  let db: Db;
  let h: AuthHarness;
  const cli = async (...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> => {
    try {
      const { stdout, stderr } = await run(process.execPath, ['--import', 'tsx', SCRIPT, ...args], { env: { ...process.env, DATABASE_URL: databaseUrl, LOG_LEVEL: 'error' } });
      return { code: 0, stdout, stderr };
    } catch (err) {
      const e = err as { code: number; stdout: string; stderr: string };
      return { code: e.code, stdout: e.stdout, stderr: e.stderr };
    }
  };

  before(async () => {
    databaseUrl = await freshPostgresUrl();
    db = await openTestDb({ databaseUrl });
    h = await startHarness(db);
  });
  after(async () => {
    await h.close();
    await db.close();
  });

  it('create --jwks registers a private_key_jwt client the server issues tokens to', async () => {
    const pair = await generateKeyPair('ES384');
    const jwk = { ...(await exportJWK(pair.publicKey)), kid: 'cli-key', alg: 'ES384' };
    const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'hub-cli-')), 'jwks.json');
    writeFileSync(file, JSON.stringify({ keys: [jwk] }));
    const res = await cli('create', '--org', 'FA123', '--kind', 'pharmacy', '--scopes', 'system/MedicationRequest.rs system/Patient.rs', '--jwks', file);
    expect(res.code, res.stderr).to.equal(0);
    const created = JSON.parse(res.stdout);
    expect(created).to.include({ org: 'FA123', kind: 'pharmacy' });
    expect(created).not.to.have.property('client_secret');
    const assertion = await signAssertion(pair.privateKey, { alg: 'ES384', kid: 'cli-key' }, assertionClaims(h, created.client_id));
    const token = await h.token(assertionForm(assertion, 'system/MedicationRequest.rs'));
    expect(token.status, JSON.stringify(token.body)).to.equal(200);
  });

  it('create --secret prints a secret once that works with client_secret_basic; list shows it; revoke stops it', async () => {
    const res = await cli('create', '--org', 'V00001', '--kind', 'voluntary', '--scopes', 'system/Appointment.rs', '--secret');
    expect(res.code, res.stderr).to.equal(0);
    const { client_id: id, client_secret: secret } = JSON.parse(res.stdout);
    expect(secret).to.be.a('string').with.length.above(30);
    expect((await h.token({ grant_type: 'client_credentials' }, { authorization: basic(id, secret) })).status).to.equal(200);

    const listed = await cli('list');
    expect(listed.code).to.equal(0);
    expect(listed.stdout).not.to.contain(secret);
    const line = listed.stdout.split('\n').find((l) => l.startsWith(id));
    expect(line?.split('\t')).to.deep.equal([id, 'V00001', 'voluntary', 'active', 'system/Appointment.rs']);

    const revoked = await cli('revoke', id);
    expect(revoked.code, revoked.stderr).to.equal(0);
    expect((await cli('list')).stdout.split('\n').find((l) => l.startsWith(id))).to.contain('\trevoked\t');
    const refused = await h.token({ grant_type: 'client_credentials' }, { authorization: basic(id, secret) });
    expect([refused.status, refused.body.error]).to.deep.equal([401, 'invalid_client']);
    expect((await cli('revoke', id)).code, 'already revoked').to.equal(1);
  });

  it('refuses a bad registration with a message and exit code 2', async () => {
    const res = await cli('create', '--org', 'FA123', '--kind', 'dentist', '--scopes', 'system/Patient.rs', '--secret');
    expect(res.code).to.equal(2);
    expect(res.stderr).to.match(/kind must be/);
  });

  it('rotate-key makes a new signing key the only active one', async () => {
    const res = await cli('rotate-key');
    expect(res.code, res.stderr).to.equal(0);
    const kid = /new signing key (\S+)/.exec(res.stdout)?.[1];
    const rows = await db.query<{ kid: string }>('SELECT kid FROM auth_signing_key WHERE retired_at IS NULL');
    expect(rows.map((r) => r.kid)).to.deep.equal([kid]);
  });
});

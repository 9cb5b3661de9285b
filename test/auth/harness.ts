import type { Server } from 'node:http';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import express from 'express';
import { exportJWK, generateKeyPair, importJWK, SignJWT, type JWK, type KeyLike } from 'jose';
import { createAuthRuntime, type AuthRuntime, type TokenAuditRecord } from '../../server/auth/runtime.js';
import { loadConfig, type Config } from '../../server/config.js';
import { FhirError } from '../../server/errors.js';
import type { Db } from '../../server/store/db.js';
import { migrate } from '../../server/store/migrate.js';
import { openDb } from '../../server/store/open-db.js';
import { freshPostgresUrl, type DbKind } from '../support/server.js';


export async function openTestDb(kind: DbKind | { databaseUrl: string }): Promise<Db> {
  const databaseUrl = typeof kind === 'object' ? kind.databaseUrl : kind === 'postgres' ? await freshPostgresUrl() : undefined;
  const db = await openDb({ databaseUrl, dataDir: 'memory://', poolSize: 5 });
  await migrate(db);
  return db;
}

/** A tiny app: the auth routes plus GET /fhir/whoami answering with the principal of the bearer token. */
export interface AuthHarness {
  origin: string;
  base: string;
  runtime: AuthRuntime;
  db: Db;
  config: Config;
  audits: TokenAuditRecord[];
  /** POSTs a form to /oauth2/token. */
  token(form: Record<string, string>, headers?: Record<string, string>): Promise<{ status: number; headers: Headers; body: any }>; // eslint-disable-line @typescript-eslint/no-explicit-any
  whoami(authorization?: string): Promise<{ status: number; headers: Headers; body: any }>; // eslint-disable-line @typescript-eslint/no-explicit-any
  close(): Promise<void>;
}

export async function startHarness(db: Db, auth: Partial<Config['auth']> = {}): Promise<AuthHarness> {
  const base = loadConfig({});
  const adminCredentialsFile = path.join(mkdtempSync(path.join(os.tmpdir(), 'hub-auth-')), 'admin-client.json');
  const config: Config = { ...base, dataDir: 'memory://', baseUrl: 'http://placeholder/fhir', auth: { ...base.auth, adminCredentialsFile, ...auth } };
  const audits: TokenAuditRecord[] = [];
  const runtime = await createAuthRuntime({ db, config, audit: async (e) => void audits.push(e) });
  const app = express();
  runtime.mount(app);
  app.get('/fhir/whoami', async (req, res) => {
    try {
      res.json(await runtime.authenticate(req.header('authorization')));
    } catch (err) {
      if (!(err instanceof FhirError)) throw err;
      res.status(err.status).set(err.headers).json(err.outcome);
    }
  });
  const server = await new Promise<Server>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  const address = server.address();
  const origin = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  // As test/support/server.ts does: the base URL is only known once the port is.
  config.baseUrl = `${origin}/fhir`;
  const answer = async (res: Response) => ({ status: res.status, headers: res.headers, body: await res.json() });
  return {
    origin,
    base: config.baseUrl,
    runtime,
    db,
    config,
    audits,
    token: async (form, headers = {}) =>
      answer(await fetch(`${origin}/oauth2/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers }, body: new URLSearchParams(form).toString() })),
    whoami: async (authorization) => answer(await fetch(`${origin}/fhir/whoami`, { headers: authorization ? { authorization } : {} })),
    async close() {
      await new Promise((resolve) => server.close(resolve));
      await runtime.close();
    },
  };
}

/** A client registered with a fresh key pair, able to sign client assertions. */
export interface KeyClient {
  id: string;
  kid: string;
  alg: 'RS384' | 'ES384';
  privateKey: KeyLike;
  publicJwk: JWK;
  /** A client assertion; claims and header entries override the correct ones. */
  assertion(claims?: Record<string, unknown>, header?: Record<string, unknown>): Promise<string>;
}

export async function registerKeyClient(h: AuthHarness, alg: 'RS384' | 'ES384', scopes = ['system/*.rs'], kind = 'pharmacy', org = 'FA123'): Promise<KeyClient> {
  const pair = await generateKeyPair(alg, { extractable: true });
  const kid = `key-${alg}-${Math.random().toString(36).slice(2)}`;
  const publicJwk = { ...(await exportJWK(pair.publicKey)), kid, alg };
  const client = await h.runtime.clients.create({ org, kind, scopes, jwks: { keys: [publicJwk] } });
  return {
    id: client.id,
    kid,
    alg,
    privateKey: pair.privateKey,
    publicJwk,
    assertion: (claims = {}, header = {}) => signAssertion(pair.privateKey, { alg, kid, ...header }, assertionClaims(h, client.id, claims)),
  };
}

export function assertionClaims(h: AuthHarness, clientId: string, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const now = Math.floor(Date.now() / 1000);
  return { iss: clientId, sub: clientId, aud: `${h.origin}/oauth2/token`, exp: now + 240, jti: `jti-${Math.random().toString(36).slice(2)}`, ...overrides };
}

export function signAssertion(key: KeyLike | Uint8Array, header: Record<string, unknown>, claims: Record<string, unknown>): Promise<string> {
  return new SignJWT(claims).setProtectedHeader(header as { alg: string }).sign(key);
}

export const assertionForm = (assertion: string, scope?: string): Record<string, string> => ({
  grant_type: 'client_credentials',
  client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
  client_assertion: assertion,
  ...(scope ? { scope } : {}),
});

/** The server's active signing key, read from the database as a second process would. */
export async function serverSigningKey(db: Db): Promise<{ kid: string; key: KeyLike; publicJwk: JWK }> {
  const [row] = await db.query<{ kid: string; private_jwk: JWK; public_jwk: JWK }>('SELECT kid, private_jwk, public_jwk FROM auth_signing_key WHERE retired_at IS NULL');
  return { kid: row.kid, key: (await importJWK(row.private_jwk, 'ES384')) as KeyLike, publicJwk: row.public_jwk };
}

export const basic = (id: string, secret: string): string => `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`;

import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import type { ClientKind } from '../../server/auth/principal.js';
import type { Config } from '../../server/config.js';
import { loadConfig } from '../../server/config.js';
import { startServer, type RunningServer } from '../../server/main.js';
import { secretToken } from '../../scripts/client-http.js';

export type DbKind = 'pglite' | 'postgres';
export const DB_KINDS: DbKind[] = ['pglite', 'postgres'];

export interface FhirReply {
  status: number;
  headers: Headers;
  body: any; // eslint-disable-line @typescript-eslint/no-explicit-any -- tests read arbitrary JSON
  text: string;
}

export interface TestServer {
  kind: DbKind;
  /** FHIR base URL, e.g. http://localhost:1234/fhir */
  base: string;
  running: RunningServer;
  /**
   * A FHIR request. It carries the administrator's access token unless `as` names another token,
   * or `as: null` sends none.
   */
  fhir(method: string, path: string, options?: { body?: unknown; headers?: Record<string, string>; raw?: string; as?: string | null }): Promise<FhirReply>;
  /** fetch of an absolute URL of this server (bulk export status and files) with the administrator's token. */
  fetch(url: string, init?: RequestInit): Promise<Response>;
  /** A current access token of the first-start administrator client. */
  adminToken(): Promise<string>;
  /** Registers a client with a secret and returns an access token issued to it. */
  clientToken(client: { kind: ClientKind; org: string; scopes: string[] }): Promise<string>;
  stop(): Promise<void>;
}

let databaseCounter = 0;

/** A fresh, empty database of the given kind: PGlite in memory, or a new database on the test PostgreSQL. */
async function freshDatabaseUrl(kind: DbKind): Promise<string | undefined> {
  return kind === 'pglite' ? undefined : freshPostgresUrl();
}

/** A new empty database on the test PostgreSQL (TEST_DATABASE_URL, from test/support/global.ts). */
export async function freshPostgresUrl(): Promise<string> {
  const admin = process.env.TEST_DATABASE_URL;
  if (!admin) throw new Error('TEST_DATABASE_URL is not set: run the tests through mocha (test/support/global.ts starts PostgreSQL)');
  const name = `hub_test_${process.pid}_${++databaseCounter}`;
  const client = new pg.Client(admin);
  await client.connect();
  await client.query(`CREATE DATABASE ${name}`);
  await client.end();
  const url = new URL(admin);
  url.pathname = `/${name}`;
  return url.toString();
}

export async function startTestServer(kind: DbKind, overrides: Partial<Config> = {}): Promise<TestServer> {
  const databaseUrl = await freshDatabaseUrl(kind);
  const base = loadConfig({});
  const adminCredentialsFile = path.join(mkdtempSync(path.join(tmpdir(), 'hub-test-')), 'admin-client.json');
  const config: Config = { ...base, port: 0, databaseUrl, dataDir: 'memory://', dbPoolSize: 10, auth: { ...base.auth, adminCredentialsFile }, ...overrides };
  const running = await startServer({ ...config, baseUrl: 'http://placeholder' });
  const fhirBase = `${running.url}/fhir`;
  // The base URL is only known once the port is: patch it into the running config.
  running.services.config.baseUrl = fhirBase;
  let admin: { token: string; renewAt: number } | undefined;
  const adminToken = async (): Promise<string> => {
    if (!admin || Date.now() > admin.renewAt) {
      const creds = JSON.parse(readFileSync(config.auth.adminCredentialsFile, 'utf8')) as { client_id: string; client_secret: string };
      const { token, expiresIn } = await secretToken(running.url, creds.client_id, creds.client_secret);
      admin = { token, renewAt: Date.now() + (expiresIn * 1000) / 2 };
    }
    return admin.token;
  };
  return {
    kind,
    base: fhirBase,
    running,
    adminToken,
    async fetch(url, init = {}) {
      const headers = new Headers(init.headers);
      if (!config.auth.disabled) headers.set('authorization', `Bearer ${await adminToken()}`);
      return fetch(url, { ...init, headers });
    },
    async clientToken(client) {
      const secret = `secret-${Math.random().toString(36).slice(2)}`;
      const registered = await running.auth.clients.create({ ...client, secret });
      return (await secretToken(running.url, registered.id, secret)).token;
    },
    async fhir(method, path, options = {}) {
      const headers: Record<string, string> = { accept: 'application/fhir+json', ...options.headers };
      const token = options.as === undefined && !config.auth.disabled ? await adminToken() : options.as;
      if (token) headers.authorization = `Bearer ${token}`;
      let body: string | undefined = options.raw;
      if (options.body !== undefined) {
        body = JSON.stringify(options.body);
        headers['content-type'] ??= 'application/fhir+json';
      }
      const res = await fetch(`${fhirBase}/${path.replace(/^\//, '')}`, { method, headers, body });
      const text = await res.text();
      let parsed: unknown;
      try {
        parsed = text ? JSON.parse(text) : undefined;
      } catch {
        parsed = undefined;
      }
      return { status: res.status, headers: res.headers, body: parsed, text };
    },
    stop: () => running.stop(),
  };
}

/** Runs the same suite against PGlite and against the real PostgreSQL, each on a fresh database. */
export function describeEachDatabase(title: string, suite: (server: () => TestServer) => void): void {
  for (const kind of DB_KINDS) {
    describe(`${title} [${kind}]`, function () {
      this.timeout(60_000);
      let server: TestServer | undefined;
      before(async () => {
        server = await startTestServer(kind);
      });
      after(async () => {
        await server?.stop();
      });
      suite(() => {
        if (!server) throw new Error('test server not started');
        return server;
      });
    });
  }
}

import pg from 'pg';
import type { Config } from '../../server/config.js';
import { loadConfig } from '../../server/config.js';
import { startServer, type RunningServer } from '../../server/main.js';

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
  fhir(method: string, path: string, options?: { body?: unknown; headers?: Record<string, string>; raw?: string }): Promise<FhirReply>;
  stop(): Promise<void>;
}

let databaseCounter = 0;

/** A fresh, empty database of the given kind: PGlite in memory, or a new database on the test PostgreSQL. */
async function freshDatabaseUrl(kind: DbKind): Promise<string | undefined> {
  if (kind === 'pglite') return undefined;
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
  const config: Config = { ...base, port: 0, databaseUrl, dataDir: 'memory://', dbPoolSize: 10, ...overrides };
  const running = await startServer({ ...config, baseUrl: 'http://placeholder' });
  const fhirBase = `${running.url}/fhir`;
  // The base URL is only known once the port is: patch it into the running config.
  running.services.config.baseUrl = fhirBase;
  return {
    kind,
    base: fhirBase,
    running,
    async fhir(method, path, options = {}) {
      const headers: Record<string, string> = { accept: 'application/fhir+json', ...options.headers };
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

import path from 'node:path';

/** Every setting of the server, read from the environment in one place. */
export interface Config {
  port: number;
  /** Public base of the FHIR API, used in Location headers and Bundle links. */
  baseUrl: string;
  /** PostgreSQL URL; without it the server runs on embedded PGlite in dataDir. */
  databaseUrl?: string;
  dataDir: string;
  /** Largest request body for a single resource, in bytes. */
  maxBodyBytes: number;
  /** Largest batch/transaction Bundle body, in bytes, and entries per Bundle. */
  maxBundleBytes: number;
  maxBundleEntries: number;
  /** Search page size when _count is absent, and the most a client may ask for. */
  defaultCount: number;
  maxCount: number;
  dbPoolSize: number;
  statementTimeoutMs: number;
}

function int(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!/^\d+$/.test(raw)) throw new Error(`${name} must be a whole number; got '${raw}'`);
  return Number(raw);
}

export function loadConfig(env = process.env): Config {
  const port = int('PORT', 8080);
  return {
    port,
    baseUrl: (env.BASE_URL || `http://localhost:${port}/fhir`).replace(/\/+$/, ''),
    databaseUrl: env.DATABASE_URL || undefined,
    dataDir: env.DATA_DIR || path.join(process.cwd(), 'data'),
    maxBodyBytes: int('MAX_BODY_BYTES', 16 * 1024 * 1024),
    maxBundleBytes: int('MAX_BUNDLE_BYTES', 64 * 1024 * 1024),
    maxBundleEntries: int('MAX_BUNDLE_ENTRIES', 10_000),
    defaultCount: int('DEFAULT_COUNT', 20),
    maxCount: int('MAX_COUNT', 1000),
    dbPoolSize: int('DB_POOL_SIZE', 20),
    statementTimeoutMs: int('DB_STATEMENT_TIMEOUT_MS', 30_000),
  };
}

import { readFileSync } from 'node:fs';
import path from 'node:path';
import { AUTH_SETTINGS, loadAuthConfig, type AuthConfig } from './auth-config.js';
import { loadSubscriptionConfig, SUBSCRIPTION_SETTINGS, type SubscriptionConfig } from './subscription-config.js';

/** Every setting of the server, read from the environment (and optionally a file) in one place. */
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
  /** Queries slower than this are logged (0 = off). */
  slowQueryMs: number;
  logLevel: string;
  /** /metrics: bearer token required if set; otherwise only loopback clients may scrape. */
  metricsToken?: string;
  /** How long SIGTERM waits for in-flight requests and jobs before closing anyway. */
  shutdownTimeoutMs: number;
  /** Requests per client per minute (0 = no limit); counted in Redis when REDIS_URL is set. */
  rateLimitPerMinute: number;
  /** A request not answered within this is a 503 (0 = no timeout). */
  requestTimeoutMs: number;
  /**
   * How far the server's heap may grow past what survived its last full collection, in percent
   * (0 = V8's own choice, up to 4 times under a steady import). A bound on growth, not a fixed cap,
   * so the largest Bundle allowed still fits: the heap follows what is live.
   */
  heapGrowthPercent: number;
  /** Resource type → profiles every resource of that type must conform to on write (REQUIRED_PROFILES). */
  requiredProfiles: Record<string, string[]>;
  /** FHIR packages (folders or .tgz) loaded at start beside UK Core and the hub's own (FHIR_PACKAGES). */
  fhirPackages: string[];
  /** A claim to a profile the hub does not hold: accepted with a warning, or refused with 422 (UNKNOWN_PROFILES). */
  unknownProfiles: 'warn' | 'reject';
  /** Redis, workers and delivery policy of subscriptions (REDIS_URL, SUBSCRIPTION_*: server/subscription-config.ts). */
  subscriptions: SubscriptionConfig;
  /** AUDIT_RETENTION_MONTHS: whole months of the audit trail older than this are dropped; absent = keep everything. */
  auditRetentionMonths?: number;
  /** AUDIT_DISABLED: no audit trail at all; only with authentication off, to measure what the trail costs (npm run bench -- rest). */
  auditDisabled: boolean;
  /** Authentication: AUTH_DISABLED, ACCESS_TOKEN_TTL_SECONDS, ADMIN_ORG, ADMIN_CREDENTIALS_FILE (server/auth-config.ts). */
  auth: AuthConfig;
}

interface Setting {
  env: string;
  default: string;
  help: string;
  secret?: boolean;
  parse(raw: string, all: Record<string, string>): Partial<Config>;
}

const whole = (key: keyof Config) => (raw: string): Partial<Config> => {
  if (!/^\d+$/.test(raw)) throw new Error(`must be a whole number; got '${raw}'`);
  return { [key]: Number(raw) } as Partial<Config>;
};

/** The settings table: `npm start -- --help` prints it, loadConfig validates against it. */
export const SETTINGS: Setting[] = [
  { env: 'PORT', default: '8080', help: 'HTTP port', parse: whole('port') },
  {
    env: 'BASE_URL',
    default: 'http://localhost:$PORT/fhir',
    help: 'public base URL of the FHIR API (Location headers, Bundle links)',
    parse: (raw, all) => {
      const url = raw.replace('$PORT', all.PORT ?? '8080').replace(/\/+$/, '');
      if (!/^https?:\/\/[^/]+/.test(url)) throw new Error(`must be an http(s) URL; got '${raw}'`);
      return { baseUrl: url };
    },
  },
  {
    env: 'DATABASE_URL',
    default: '',
    help: 'PostgreSQL URL; empty = embedded PGlite in DATA_DIR',
    secret: true,
    parse: (raw) => {
      if (raw && !/^postgres(ql)?:\/\//.test(raw)) throw new Error('must start with postgres:// or postgresql://');
      return { databaseUrl: raw || undefined };
    },
  },
  { env: 'DATA_DIR', default: './data', help: 'where embedded PGlite keeps its files', parse: (raw) => ({ dataDir: raw === 'memory://' ? raw : path.resolve(raw) }) },
  { env: 'MAX_BODY_BYTES', default: String(16 * 1024 * 1024), help: 'largest resource body in bytes (413 beyond)', parse: whole('maxBodyBytes') },
  { env: 'MAX_BUNDLE_BYTES', default: String(64 * 1024 * 1024), help: 'largest batch/transaction body in bytes (413 beyond)', parse: whole('maxBundleBytes') },
  { env: 'MAX_BUNDLE_ENTRIES', default: '10000', help: 'most entries in a batch/transaction (413 beyond)', parse: whole('maxBundleEntries') },
  { env: 'DEFAULT_COUNT', default: '20', help: 'search page size when _count is absent', parse: whole('defaultCount') },
  { env: 'MAX_COUNT', default: '1000', help: 'largest _count a client may ask for', parse: whole('maxCount') },
  { env: 'DB_POOL_SIZE', default: '20', help: 'PostgreSQL connections per process', parse: whole('dbPoolSize') },
  { env: 'DB_STATEMENT_TIMEOUT_MS', default: '30000', help: 'PostgreSQL statement timeout', parse: whole('statementTimeoutMs') },
  { env: 'SLOW_QUERY_MS', default: '500', help: 'log queries slower than this (0 = off)', parse: whole('slowQueryMs') },
  {
    env: 'LOG_LEVEL',
    default: 'info',
    help: 'fatal, error, warn, info, debug or trace',
    parse: (raw) => {
      if (!['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].includes(raw)) throw new Error(`must be one of fatal, error, warn, info, debug, trace, silent; got '${raw}'`);
      return { logLevel: raw };
    },
  },
  { env: 'METRICS_TOKEN', default: '', help: 'bearer token for /metrics; empty = loopback clients only (administrator access tokens are accepted either way)', secret: true, parse: (raw) => ({ metricsToken: raw || undefined }) },
  { env: 'SHUTDOWN_TIMEOUT_MS', default: '10000', help: 'how long SIGTERM waits for in-flight work', parse: whole('shutdownTimeoutMs') },
  { env: 'RATE_LIMIT_PER_MINUTE', default: '6000', help: 'requests per client per minute, 429 beyond (0 = off)', parse: whole('rateLimitPerMinute') },
  { env: 'REQUEST_TIMEOUT_MS', default: '60000', help: 'a request not answered within this is 503 (0 = off)', parse: whole('requestTimeoutMs') },
  { env: 'HEAP_GROWTH_PERCENT', default: '50', help: "how far the server's heap may grow past what is live, in percent (0 = V8's default)", parse: whole('heapGrowthPercent') },
  {
    env: 'REQUIRED_PROFILES',
    default: '',
    help: 'profiles enforced on write, e.g. CareTeam=https://fhir.neighbourhood-hub.example/StructureDefinition/NeighbourhoodCareTeam (comma-separated Type=url)',
    parse: (raw) => {
      const requiredProfiles: Record<string, string[]> = {};
      for (const entry of raw.split(/[,\s]+/).filter(Boolean)) {
        const m = /^([A-Z][A-Za-z]+)=(\S+)$/.exec(entry);
        if (!m) throw new Error(`entries are Type=canonical-url; got '${entry}'`);
        (requiredProfiles[m[1]] ??= []).push(m[2]);
      }
      return { requiredProfiles };
    },
  },
  {
    env: 'AUDIT_RETENTION_MONTHS',
    default: '',
    help: 'months of audit trail kept; older whole months are dropped (PostgreSQL); empty = keep everything',
    parse: (raw) => {
      if (raw === '') return { auditRetentionMonths: undefined };
      if (!/^[1-9]\d*$/.test(raw)) throw new Error(`must be a whole number of months, at least 1; got '${raw}'`);
      return { auditRetentionMonths: Number(raw) };
    },
  },
  {
    env: 'AUDIT_DISABLED',
    default: 'false',
    help: 'true = record no audit trail; only with AUTH_DISABLED=true, for measuring what the trail costs',
    parse: (raw, all) => {
      if (raw !== 'true' && raw !== 'false') throw new Error(`must be true or false; got '${raw}'`);
      if (raw === 'true' && all.AUTH_DISABLED !== 'true') throw new Error('may only be true with AUTH_DISABLED=true: every authenticated access is on the record');
      return { auditDisabled: raw === 'true' };
    },
  },
  {
    env: 'FHIR_PACKAGES',
    default: '',
    help: 'more FHIR NPM packages to load at start (comma-separated folders or .tgz files); UK Core is always loaded',
    parse: (raw) => ({ fhirPackages: raw.split(',').map((p) => p.trim()).filter(Boolean).map((p) => path.resolve(p)) }),
  },
  {
    env: 'UNKNOWN_PROFILES',
    default: 'warn',
    help: 'a resource claiming a profile the hub does not hold: warn (accepted, with a warning issue) or reject (422)',
    parse: (raw) => {
      if (raw !== 'warn' && raw !== 'reject') throw new Error(`must be warn or reject; got '${raw}'`);
      return { unknownProfiles: raw };
    },
  },
  // Listed here for --help; loadSubscriptionConfig (server/subscription-config.ts) reads and checks them.
  ...SUBSCRIPTION_SETTINGS.map((s) => ({ ...s, parse: () => ({}) })),
  // Likewise read and checked by loadAuthConfig (server/auth-config.ts).
  ...AUTH_SETTINGS.map((s) => ({ ...s, parse: () => ({}) })),
];

/**
 * Reads and validates every setting; one error lists every bad value. CONFIG_FILE may name a
 * file of KEY=value lines, overridden by the environment. The one place settings are read: every
 * other module is handed what it needs.
 */
export function loadConfig(env: Record<string, string | undefined> = process.env, file: Record<string, string> = settingsFile(env.CONFIG_FILE)): Config {
  const all: Record<string, string> = { ...file };
  for (const [k, v] of Object.entries(env)) if (v !== undefined && v !== '') all[k] = v;
  const config: Partial<Config> = {};
  const problems: string[] = [];
  for (const s of SETTINGS) {
    const raw = all[s.env] ?? s.default;
    try {
      Object.assign(config, s.parse(raw, all));
    } catch (err) {
      problems.push(`${s.env} ${(err as Error).message}`);
    }
  }
  try {
    config.subscriptions = loadSubscriptionConfig(all);
  } catch (err) {
    problems.push((err as Error).message);
  }
  try {
    config.auth = loadAuthConfig(all);
  } catch (err) {
    problems.push((err as Error).message);
  }
  if (problems.length) throw new Error(`Invalid configuration:\n  ${problems.join('\n  ')}`);
  return config as Config;
}

/** KEY=value lines of the file named by CONFIG_FILE; `#` starts a comment line. */
function settingsFile(file: string | undefined): Record<string, string> {
  if (!file) return {};
  const entries = readFileSync(file, 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => [l.slice(0, l.indexOf('=')).trim(), l.slice(l.indexOf('=') + 1).trim()]);
  return Object.fromEntries(entries);
}

/** The text of `npm start -- --help`. */
export function settingsHelp(): string {
  const width = Math.max(...SETTINGS.map((s) => s.env.length));
  const rows = SETTINGS.map((s) => `  ${s.env.padEnd(width)} ${(s.default || '(unset)').padEnd(28)} ${s.help}${s.secret ? ' (secret; never printed)' : ''}`);
  return ['Settings (environment variables, or KEY=value lines in the file named by CONFIG_FILE):', '', ...rows].join('\n');
}

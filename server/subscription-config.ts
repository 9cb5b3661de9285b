/** Settings of subscription delivery, read with the rest of the server's config (server/config.ts). */
export interface SubscriptionConfig {
  /** Redis for BullMQ; without it `npm start` runs a private redis-server (server/private-redis.ts). */
  redisUrl?: string;
  /** Run the relay, match and delivery workers inside the API process (RUN_WORKERS=false to run them apart). */
  runWorkers: boolean;
  /**
   * Hosts (name, IP, or CIDR) that may be reached over plain http and that may resolve to private,
   * loopback or link-local addresses. Everything else must be https to a public address (no SSRF).
   */
  endpointAllowList: string[];
  /** Attempts per notification before the subscription goes to `error`. */
  maxAttempts: number;
  /** Back-off before retry n is base * 2^(n-1), capped, with full jitter in [50%, 100%]. */
  backoffBaseMs: number;
  backoffMaxMs: number;
  /** Per-request timeout when the Subscription gives none (backport-timeout). */
  deliveryTimeoutMs: number;
  /** Requests in flight per worker process (different subscriptions; one subscription is always in order). */
  deliveryConcurrency: number;
  /** Requests in flight per receiver host (host:port), so one slow receiver cannot take every slot. */
  hostConcurrency: number;
  /** The safety net behind commit wake-ups (LISTEN): how often relay and subscription cache look anyway. And the heartbeat/sweep tick. */
  relayPollMs: number;
  tickMs: number;
  /** BullMQ stalled-job check: how soon a job of a killed worker is retried. */
  stalledIntervalMs: number;
  /** Lifetime of websocket binding tokens. */
  wsTokenTtlSeconds: number;
  /** BullMQ key prefix, so several hubs (or test runs) can share a Redis. */
  queuePrefix: string;
}

/** One subscription setting as `npm start -- --help` lists it (server/config.ts SETTINGS). */
export interface SubscriptionSetting {
  env: string;
  default: string;
  help: string;
  secret?: boolean;
}

/** Every subscription setting with its default: the one list loadSubscriptionConfig and --help read. */
export const SUBSCRIPTION_SETTINGS: SubscriptionSetting[] = [
  { env: 'REDIS_URL', default: '', help: "BullMQ's Redis: redis://[user:password@]host:port[/db], rediss:// (TLS) or redis-sentinel://[:password@]host:port,host:port/primary[/db]; empty = npm start runs a private redis-server in DATA_DIR/redis", secret: true },
  { env: 'RUN_WORKERS', default: 'true', help: 'run relay, match and delivery workers in the API process; false for API-only processes (then run npm run worker)' },
  { env: 'QUEUE_PREFIX', default: 'hub', help: 'BullMQ key prefix, so several hubs can share a Redis' },
  {
    env: 'SUBSCRIPTION_ENDPOINT_ALLOW',
    default: '127.0.0.0/8,::1,localhost',
    help: 'comma-separated hosts, IPs or CIDRs that may be plain http or private; none = no exception (production); everything else must be https to a public address',
  },
  { env: 'SUBSCRIPTION_MAX_ATTEMPTS', default: '10', help: 'attempts per notification before the subscription goes to status error' },
  { env: 'SUBSCRIPTION_BACKOFF_BASE_MS', default: '1000', help: 'retry n waits base * 2^(n-1) ms, capped, times a jitter in [0.5, 1)' },
  { env: 'SUBSCRIPTION_BACKOFF_MAX_MS', default: '600000', help: 'cap of the retry back-off' },
  { env: 'SUBSCRIPTION_TIMEOUT_MS', default: '10000', help: 'per-request timeout when the Subscription has no backport-timeout' },
  { env: 'SUBSCRIPTION_DELIVERY_CONCURRENCY', default: '256', help: 'notification requests in flight per worker process (one at a time per subscription)' },
  { env: 'SUBSCRIPTION_HOST_CONCURRENCY', default: '32', help: 'requests in flight per receiver host:port, so a slow receiver cannot take every slot' },
  { env: 'SUBSCRIPTION_RELAY_POLL_MS', default: '5000', help: 'safety-net poll of the change log by relay and subscription cache (each commit wakes them through LISTEN/NOTIFY)' },
  { env: 'SUBSCRIPTION_TICK_MS', default: '1000', help: 'heartbeat, end -> off and sweep of undelivered events' },
  { env: 'SUBSCRIPTION_STALLED_MS', default: '10000', help: 'BullMQ stalled-job check: how soon a job of a killed worker is retried' },
  { env: 'SUBSCRIPTION_WS_TOKEN_TTL', default: '300', help: 'lifetime of $get-ws-binding-token tokens, in seconds' },
];

const DEFAULTS = Object.fromEntries(SUBSCRIPTION_SETTINGS.map((s) => [s.env, s.default]));

function int(env: Record<string, string | undefined>, name: string): number {
  const raw = env[name] || DEFAULTS[name];
  if (!/^\d+$/.test(raw)) throw new Error(`${name} must be a whole number; got '${raw}'`);
  return Number(raw);
}

export function loadSubscriptionConfig(env: Record<string, string | undefined>): SubscriptionConfig {
  const runWorkers = env.RUN_WORKERS || DEFAULTS.RUN_WORKERS;
  if (runWorkers !== 'true' && runWorkers !== 'false') throw new Error(`RUN_WORKERS must be true or false; got '${runWorkers}'`);
  return {
    redisUrl: env.REDIS_URL || undefined,
    runWorkers: runWorkers === 'true',
    endpointAllowList: endpointAllowList(env.SUBSCRIPTION_ENDPOINT_ALLOW),
    maxAttempts: int(env, 'SUBSCRIPTION_MAX_ATTEMPTS'),
    backoffBaseMs: int(env, 'SUBSCRIPTION_BACKOFF_BASE_MS'),
    backoffMaxMs: int(env, 'SUBSCRIPTION_BACKOFF_MAX_MS'),
    deliveryTimeoutMs: int(env, 'SUBSCRIPTION_TIMEOUT_MS'),
    deliveryConcurrency: int(env, 'SUBSCRIPTION_DELIVERY_CONCURRENCY'),
    hostConcurrency: int(env, 'SUBSCRIPTION_HOST_CONCURRENCY'),
    relayPollMs: int(env, 'SUBSCRIPTION_RELAY_POLL_MS'),
    tickMs: int(env, 'SUBSCRIPTION_TICK_MS'),
    stalledIntervalMs: int(env, 'SUBSCRIPTION_STALLED_MS'),
    wsTokenTtlSeconds: int(env, 'SUBSCRIPTION_WS_TOKEN_TTL'),
    queuePrefix: env.QUEUE_PREFIX || DEFAULTS.QUEUE_PREFIX,
  };
}

/**
 * Unset: loopback only, so receivers on this machine work for tests and development over plain
 * http; private and link-local networks stay refused. `none` refuses loopback too (production).
 */
export const DEFAULT_ENDPOINT_ALLOW = DEFAULTS.SUBSCRIPTION_ENDPOINT_ALLOW;
function endpointAllowList(raw: string | undefined): string[] {
  const value = raw === undefined || raw === '' ? DEFAULT_ENDPOINT_ALLOW : raw === 'none' ? '' : raw;
  return value.split(',').map((s) => s.trim()).filter(Boolean);
}

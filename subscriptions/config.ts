/** Settings of subscription delivery, read from the environment with the rest of the server's config. */
export interface SubscriptionConfig {
  /** Redis for BullMQ; without it `npm start` runs a private redis-server (scripts/redis.ts). */
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
  /** How often the relay polls when no LISTEN wake-up arrives, and the heartbeat/sweep tick. */
  relayPollMs: number;
  tickMs: number;
  /** BullMQ stalled-job check: how soon a job of a killed worker is retried. */
  stalledIntervalMs: number;
  /** Lifetime of websocket binding tokens. */
  wsTokenTtlSeconds: number;
  /** BullMQ key prefix, so several hubs (or test runs) can share a Redis. */
  queuePrefix: string;
}

function int(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!/^\d+$/.test(raw)) throw new Error(`${name} must be a whole number; got '${raw}'`);
  return Number(raw);
}

export function loadSubscriptionConfig(env: NodeJS.ProcessEnv = process.env): SubscriptionConfig {
  return {
    redisUrl: env.REDIS_URL || undefined,
    runWorkers: env.RUN_WORKERS !== 'false',
    endpointAllowList: endpointAllowList(env.SUBSCRIPTION_ENDPOINT_ALLOW),
    maxAttempts: int(env, 'SUBSCRIPTION_MAX_ATTEMPTS', 10),
    backoffBaseMs: int(env, 'SUBSCRIPTION_BACKOFF_BASE_MS', 1000),
    backoffMaxMs: int(env, 'SUBSCRIPTION_BACKOFF_MAX_MS', 10 * 60_000),
    deliveryTimeoutMs: int(env, 'SUBSCRIPTION_TIMEOUT_MS', 10_000),
    deliveryConcurrency: int(env, 'SUBSCRIPTION_DELIVERY_CONCURRENCY', 256),
    hostConcurrency: int(env, 'SUBSCRIPTION_HOST_CONCURRENCY', 32),
    relayPollMs: int(env, 'SUBSCRIPTION_RELAY_POLL_MS', 250),
    tickMs: int(env, 'SUBSCRIPTION_TICK_MS', 1000),
    stalledIntervalMs: int(env, 'SUBSCRIPTION_STALLED_MS', 10_000),
    wsTokenTtlSeconds: int(env, 'SUBSCRIPTION_WS_TOKEN_TTL', 300),
    queuePrefix: env.QUEUE_PREFIX || 'hub',
  };
}

/**
 * Unset: loopback only, so receivers on this machine work for tests and development over plain
 * http; private and link-local networks stay refused. `none` refuses loopback too (production).
 */
export const DEFAULT_ENDPOINT_ALLOW = '127.0.0.0/8,::1,localhost';
function endpointAllowList(raw: string | undefined): string[] {
  const value = raw === undefined || raw === '' ? DEFAULT_ENDPOINT_ALLOW : raw === 'none' ? '' : raw;
  return value.split(',').map((s) => s.trim()).filter(Boolean);
}

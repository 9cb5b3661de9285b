import { Redis } from 'ioredis';
import { FhirError, issue, outcome } from '../errors.js';
import { logger as defaultLogger, type Logger } from '../logger.js';
import { redisServer } from '../redis-url.js';

export interface RateLimiterOptions {
  /** Redis shared by every API process; without it each process counts alone. */
  redisUrl?: string;
  /** Requests a client may make per window; 0 turns limiting off. */
  perMinute: number;
  /** The window length (tests shorten it). */
  windowMs?: number;
  /** Redis key prefix, so several hubs can share one Redis. */
  prefix?: string;
  log?: Logger;
}

export interface RateLimiter {
  /** Throws FhirError 429 (Retry-After, OperationOutcome `throttled`) when the client has used up its window. */
  check(clientId: string): Promise<void>;
  close(): Promise<void>;
}

/** Counts a request; returns the count so far in the window and the window's milliseconds left. */
type Counter = (clientId: string) => Promise<{ count: number; msLeft: number }>;

// INCR and the expiry of a new window in one atomic step: a fixed window per client, starting at its first request.
const COUNT_SCRIPT = `
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) ttl = tonumber(ARGV[1]) end
return {n, ttl}`;

const ERROR_LOG_EVERY_MS = 10_000;
const LOST = new Set(['reconnecting', 'close', 'end']);

/** A per-client request budget per window, in Redis when there is one (so it holds across processes). */
export function createRateLimiter(options: RateLimiterOptions): RateLimiter {
  const { perMinute } = options;
  const windowMs = options.windowMs ?? 60_000;
  const log = options.log ?? defaultLogger;
  if (perMinute <= 0) return { check: async () => undefined, close: async () => undefined };
  const counter = options.redisUrl ? redisCounter(options.redisUrl, windowMs, options.prefix ?? 'hub:rate:') : memoryCounter(windowMs);
  let lastLogged = 0;
  return {
    async check(clientId) {
      let counted;
      try {
        counted = await counter.count(clientId);
      } catch (err) {
        // Availability over limiting: with Redis away requests go through unlimited, and we say so (not on every request).
        if (Date.now() - lastLogged > ERROR_LOG_EVERY_MS) {
          lastLogged = Date.now();
          log.warn({ err }, 'rate limit not enforced: Redis is unavailable');
        }
        return;
      }
      if (counted.count <= perMinute) return;
      const seconds = Math.max(1, Math.ceil(counted.msLeft / 1000));
      throw new FhirError(
        429,
        outcome(issue('throttled', `Client ${clientId} has made more than ${perMinute} requests in ${windowMs / 1000} seconds; retry after ${seconds} seconds`)),
        { 'Retry-After': String(seconds) },
      );
    },
    close: counter.close,
  };
}

function redisCounter(redisUrl: string, windowMs: number, prefix: string): { count: Counter; close(): Promise<void> } {
  const redis = new Redis({
    ...redisServer(redisUrl),
    // A check waits at most this for Redis; past it the request goes through.
    commandTimeout: 500,
    maxRetriesPerRequest: 1,
    retryStrategy: (times: number) => Math.min(times * 100, 2000),
  } as never);
  redis.on('error', () => undefined); // each failed check reports it
  return {
    async count(clientId) {
      // Once a connection is lost, fail at once rather than wait for the timeout on every request.
      if (LOST.has(redis.status)) throw new Error(`Redis connection is ${redis.status}`);
      const [count, msLeft] = (await redis.eval(COUNT_SCRIPT, 1, `${prefix}${clientId}`, windowMs)) as [number, number];
      return { count, msLeft };
    },
    async close() {
      redis.disconnect();
    },
  };
}

/** Without Redis, each process keeps its own windows: the limit then holds per process, not across them. */
function memoryCounter(windowMs: number): { count: Counter; close(): Promise<void> } {
  const windows = new Map<string, { count: number; endsAt: number }>();
  const sweep = setInterval(() => {
    const now = Date.now();
    for (const [id, w] of windows) if (w.endsAt <= now) windows.delete(id);
  }, windowMs);
  sweep.unref();
  return {
    async count(clientId) {
      const now = Date.now();
      let w = windows.get(clientId);
      if (!w || w.endsAt <= now) windows.set(clientId, (w = { count: 0, endsAt: now + windowMs }));
      w.count++;
      return { count: w.count, msLeft: w.endsAt - now };
    },
    async close() {
      clearInterval(sweep);
    },
  };
}

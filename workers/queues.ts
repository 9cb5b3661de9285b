import { Queue, type ConnectionOptions, type JobsOptions } from 'bullmq';
import type { SubscriptionConfig } from '../server/subscription-config.js';
import type { Change } from '../subscriptions/subscription-index.js';
import { redisServer } from '../server/redis-url.js';

export const CHANGES_QUEUE = 'changes';
export const DELIVERY_QUEUE = 'deliveries';

/** A batch of committed changes, in seq order, from the relay to the matcher. */
export interface ChangesJob {
  changes: Change[];
}

/** An event as a batch job carries it: [subscription, event number, change seq]; the change itself is in `changes`. */
export type BatchEvent = [subscriptionId: string, eventNumber: number, changeSeq: number];

/** Every event one match batch numbered, for all its subscriptions, with the changes they are for. */
export interface BatchJob {
  kind: 'batch';
  changes: Change[];
  events: BatchEvent[];
  versions: Record<string, number>;
}

/**
 * Delivery work. `batch`: every event one match batch numbered, for all its subscriptions (one job
 * per batch, not one per subscription: the per-job cost of BullMQ was most of a notification's;
 * only when the matching process could not hand the batch to its own deliverer).
 * `events`: deliver what is pending for one subscription (resume, sweep, retry, websocket bind).
 * `versions` / `versionId`: the Subscription version the matcher saw, so a deliverer with an older
 * cached copy reads it again first.
 */
export type DeliveryJob =
  | BatchJob
  | { kind: 'events'; subscriptionId: string; eventNumber: number; versionId?: number }
  | { kind: 'handshake'; subscriptionId: string; versionId: number }
  | { kind: 'heartbeat'; subscriptionId: string };

/**
 * ioredis options for BullMQ: workers block on Redis, so no per-command retry limit.
 * `redis://` and `rediss://` (TLS) name one server; `redis-sentinel://[:password@]host:port,host:port/master[/db]`
 * names a Sentinel group, so a failover moves every process to the new primary.
 */
export function connection(redisUrl: string, forProducer = false): ConnectionOptions {
  return {
    ...redisServer(redisUrl),
    maxRetriesPerRequest: null,
    // Producers fail fast while Redis is down (the outbox keeps the work); workers wait for it to return.
    enableOfflineQueue: !forProducer,
    retryStrategy: (times: number) => Math.min(times * 100, 2000),
  } as ConnectionOptions;
}

// Completed ids are kept for a while so a re-added id is recognised as done; failures are swept (ticker).
const KEEP: JobsOptions = { removeOnComplete: { age: 3600, count: 20_000 }, removeOnFail: { age: 24 * 3600 } };
export const CHANGES_JOB_OPTIONS: JobsOptions = { ...KEEP, attempts: 1000, backoff: { type: 'exponential', delay: 200 } };
export const DELIVERY_JOB_OPTIONS: JobsOptions = { ...KEEP, attempts: 50, backoff: { type: 'exponential', delay: 500 } };

/** The producer side of both queues, shared by relay, matcher, ticker and the websocket binder. */
export class Queues {
  readonly changes: Queue<ChangesJob>;
  readonly deliveries: Queue<DeliveryJob>;

  constructor(config: SubscriptionConfig) {
    const opts = { connection: connection(config.redisUrl!, true), prefix: config.queuePrefix };
    this.changes = new Queue<ChangesJob>(CHANGES_QUEUE, opts);
    this.deliveries = new Queue<DeliveryJob>(DELIVERY_QUEUE, opts);
    // Swallow connection errors here: callers see failed commands, and the outbox retries.
    this.changes.on('error', () => undefined);
    this.deliveries.on('error', () => undefined);
  }

  /** Kick delivery of a subscription's pending events; `tag` makes the job id unique per reason. */
  async kick(subscriptionId: string, eventNumber: number, tag = '', delayMs = 0): Promise<void> {
    await this.deliveries.add(
      'events',
      { kind: 'events', subscriptionId, eventNumber },
      { ...DELIVERY_JOB_OPTIONS, jobId: `deliver_${subscriptionId}_${eventNumber}${tag}`, ...(delayMs > 0 ? { delay: Math.round(delayMs) } : {}) },
    );
  }

  async close(): Promise<void> {
    await Promise.allSettled([this.changes.close(), this.deliveries.close()]);
  }
}

/** Rejects if the promise takes longer than ms (a Redis command must not hold a database transaction open). */
export function within<T>(ms: number, p: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

import { Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { notificationAccess } from '../server/access/notification-access.js';
import { AuditWriter } from '../server/audit/writer.js';
import { logger } from '../server/logger.js';
import { loadPolicies } from '../server/access/policy.js';
import { AccessCompiler } from '../server/access/request-access.js';
import { ClientRegistry } from '../server/auth/clients.js';
import type { SearchEngine } from '../server/search/search.js';
import type { Db } from '../server/store/db.js';
import type { Store } from '../server/store/store.js';
import type { SubscriptionConfig } from '../server/subscription-config.js';
import { EndpointPolicy } from '../subscriptions/endpoint-policy.js';
import { EventStore } from '../subscriptions/event-store.js';
import { wsChannel } from '../subscriptions/websocket-channel.js';
import { ChangeFeed } from './change-feed.js';
import { Deliverer } from './deliver.js';
import { startExportWorker } from './export.js';
import { MatchStep } from './match-step.js';
import { CHANGES_QUEUE, connection, DELIVERY_QUEUE, Queues, type ChangesJob, type DeliveryJob } from './queues.js';
import { Limiter } from './limiter.js';
import { Relay } from './relay.js';
import { startSchedulingWorker } from './scheduling.js';
import { SubscriptionCache } from './subscription-cache.js';
import { Ticker } from './ticker.js';

export interface WorkerDeps {
  db: Db;
  store: Store;
  search: SearchEngine;
  subscriptions: SubscriptionConfig;
  databaseUrl?: string;
  /** The public FHIR base, for references in notifications (read late: tests learn their port after start). */
  baseUrl: () => string;
}

export interface RunningWorkers {
  matcher: MatchStep;
  relay: Relay;
  queues: Queues;
  stop(): Promise<void>;
}

/** Relay, matcher, deliverer and ticker on BullMQ: inside `npm start`, or alone with `npm run worker`. */
export async function startWorkers(deps: WorkerDeps): Promise<RunningWorkers> {
  const config = deps.subscriptions;
  if (!config.redisUrl) throw new Error('The subscription workers need Redis: set REDIS_URL');
  const queues = new Queues(config);
  const events = new EventStore(deps.db);
  const publisher = new Redis(connection(config.redisUrl) as never);
  publisher.on('error', () => undefined);
  const cache = new SubscriptionCache(deps.db, 500);
  await cache.start();
  // Each delivery attempt goes on the audit trail, written like the API's (bulk inserts).
  const clients = new ClientRegistry(deps.db);
  // Nobody waits on an attempt's record: gathered for 50 ms, a stream of notifications is a statement per 50 ms, not one per few attempts.
  const audit = new AuditWriter({ db: deps.db, log: logger, baseUrl: deps.baseUrl, gatherMs: 50 });
  const deliverer = new Deliverer({
    db: deps.db,
    store: deps.store,
    events,
    cache,
    queues,
    policy: new EndpointPolicy(config.endpointAllowList),
    config,
    baseUrl: deps.baseUrl,
    publish: (id, body) => publisher.publish(wsChannel(config.queuePrefix, id), body),
    limiter: new Limiter(config.deliveryConcurrency, config.hostConcurrency),
    // The subscription's owner is the party a notification discloses to: the event names it.
    audit: async (record) => {
      const owner = record.subscription ? cache.get(record.subscription.replace(/^Subscription\//, ''))?.owner : undefined;
      const client = owner ? await clients.get(owner) : undefined;
      return audit.record(client ? { ...record, principal: { clientId: client.id, org: client.org } } : record);
    },
    readable: notificationAccess(deps.store, deps.search, clients, new AccessCompiler(deps.search, loadPolicies())),
  });
  const matcher = new MatchStep(deps.db, deps.search, events, queues, (batch, loaded) => deliverer.deliverBatch(batch, loaded));
  await matcher.load();
  const workerOptions = {
    connection: connection(config.redisUrl),
    prefix: config.queuePrefix,
    stalledInterval: config.stalledIntervalMs,
    lockDuration: Math.max(config.stalledIntervalMs, 2000),
  };
  // Matching numbers events per subscription in change order, so one batch at a time across all processes.
  await queues.changes.setGlobalConcurrency(1).catch(() => undefined);
  let stopping = false;
  const relay = new Relay(deps.db, queues);
  const matchWorker = new Worker<ChangesJob>(CHANGES_QUEUE, async (job) => void (await matcher.processUntilDone(job.data.changes, () => stopping)), { ...workerOptions, concurrency: 1 });
  matchWorker.on('completed', () => relay.batchTaken()); // the relay holds rows back while a batch waits (relay.ts)
  // Kicks, handshakes, heartbeats, and batches a matcher could not hand to its own deliverer: they only hand events to per-subscription lanes (deliver.ts), so one at a time keeps up.
  const deliveryWorker = new Worker<DeliveryJob>(DELIVERY_QUEUE, (job, token) => deliverer.handle(job, token), { ...workerOptions, concurrency: 1 });
  for (const w of [matchWorker, deliveryWorker]) w.on('error', () => undefined); // Redis outages: BullMQ reconnects by itself
  // Bulk $export jobs (workers/export.ts) share the Redis, prefix and stall settings of the subscription workers.
  const exportWorker = startExportWorker({
    db: deps.db,
    search: deps.search,
    redisUrl: config.redisUrl,
    queuePrefix: config.queuePrefix,
    baseUrl: deps.baseUrl,
    stalledIntervalMs: config.stalledIntervalMs,
  });
  // Hold expiry and recurring availability (workers/scheduling.ts).
  const scheduling = await startSchedulingWorker({ store: deps.store, redisUrl: config.redisUrl, queuePrefix: config.queuePrefix, everyMs: config.tickMs * 5, stalledIntervalMs: config.stalledIntervalMs });
  const ticker = new Ticker({ db: deps.db, store: deps.store, events, index: matcher.index, queues }, config.tickMs, config.stalledIntervalMs);
  // Commits wake the relay, the subscription cache and the sweep; without them, only the slow safety net runs.
  const feed = new ChangeFeed(deps.db, config.relayPollMs, deps.databaseUrl);
  feed.onChange((source) => {
    relay.wake();
    cache.changed();
    if (source === 'commit') ticker.changed();
  });
  await feed.start();
  relay.wake();
  ticker.start();
  return {
    matcher,
    relay,
    queues,
    async stop() {
      stopping = true;
      ticker.stop();
      await feed.stop();
      await relay.stop();
      await Promise.allSettled([matchWorker.close(), deliveryWorker.close(), exportWorker.stop(), scheduling.stop()]);
      await deliverer.stop();
      await audit.close();
      cache.stop();
      await queues.close();
      publisher.disconnect();
    },
  };
}

import { Queue } from 'bullmq';
import client from 'prom-client';
import type { ReadinessCheck } from '../server/readiness.js';
import { registry, scrapeGauge } from '../server/metrics.js';
import type { Db } from '../server/store/db.js';
import { EXPORT_QUEUE } from './export-queue.js';
import { CHANGES_QUEUE, connection, DELIVERY_QUEUE } from './queues.js';

const STATES = ['waiting', 'active', 'delayed', 'failed', 'prioritized'] as const;
const QUEUE_JOBS = 'bullmq_queue_jobs';
const FAILED = 'subscription_failed_deliveries';
const LATENCY = 'subscription_delivery_latency_seconds';

/**
 * What /metrics and /readyz say of the queues and deliveries (issue 9). Everything is read at scrape
 * time from Redis and PostgreSQL, so any API process reports the work of every worker process.
 */
export function observeQueues(db: Db, redisUrl: string, prefix: string): { readiness: ReadinessCheck; close(): Promise<void> } {
  const queues = [CHANGES_QUEUE, DELIVERY_QUEUE, EXPORT_QUEUE].map((name) => new Queue(name, { connection: connection(redisUrl, true), prefix }));
  for (const q of queues) q.on('error', () => undefined);

  scrapeGauge(QUEUE_JOBS, 'Jobs in each BullMQ queue by state', ['queue', 'state'], async (set) => {
    for (const q of queues) {
      const counts = await q.getJobCounts(...STATES).catch(() => undefined);
      for (const state of STATES) if (counts) set({ queue: q.name, state }, counts[state] ?? 0);
    }
  });

  scrapeGauge(FAILED, 'Failed delivery attempts, by the current status of their subscription', ['subscription_status'], async (set) => {
    const rows = await db.query<{ status: string; n: number }>(
      `SELECT coalesce(r.content::jsonb ->> 'status', 'deleted') AS status, count(*)::int AS n
       FROM subscription_delivery d LEFT JOIN resources r ON r.resource_type = 'Subscription' AND r.id = d.subscription_id
       WHERE NOT d.ok GROUP BY 1`,
    );
    for (const r of rows) set({ subscription_status: r.status }, r.n);
  });

  // Commit-to-receipt latency of every successful delivery since the last scrape, read from the delivery log.
  registry.removeSingleMetric(LATENCY);
  let after = -1;
  const newDeliveries = async (): Promise<number[]> => {
    if (after < 0) after = (await db.query<{ id: number }>('SELECT coalesce(max(id), 0)::bigint AS id FROM subscription_delivery'))[0].id;
    const rows = await db.query<{ id: number; seconds: number }>(
      `SELECT d.id, extract(epoch FROM (d.attempted_at + d.duration_ms * interval '1 millisecond') - e.occurred_at)::float AS seconds
       FROM subscription_delivery d JOIN subscription_event e ON e.subscription_id = d.subscription_id AND e.event_number = d.last_event
       WHERE d.id > $1 AND d.ok ORDER BY d.id LIMIT 100000`,
      [after],
    );
    if (rows.length) after = rows[rows.length - 1].id;
    return rows.map((r) => Math.max(0, r.seconds));
  };
  new client.Histogram({
    name: LATENCY,
    help: 'Time from the commit of a change to its notification being accepted by the receiver',
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers: [registry],
    async collect() {
      // A database that cannot answer leaves the histogram as it was; the rest of the scrape still works.
      for (const seconds of await newDeliveries().catch(() => [])) this.observe(seconds);
    },
  });

  const mine = [QUEUE_JOBS, FAILED, LATENCY].map((name) => [name, registry.getSingleMetric(name)] as const);
  return {
    readiness: async () => {
      await Promise.race([queues[0].getJobCounts('waiting'), new Promise((_, reject) => setTimeout(() => reject(new Error('Redis did not answer within 2 s')), 2000).unref())]);
      return undefined;
    },
    close: async () => {
      // Only this server's collectors: another server in the same process may have registered the names since.
      for (const [name, metric] of mine) if (registry.getSingleMetric(name) === metric) registry.removeSingleMetric(name);
      await Promise.allSettled(queues.map((q) => q.close()));
    },
  };
}

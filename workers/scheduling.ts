import { Queue, Worker } from 'bullmq';
import { logger } from '../server/logger.js';
import { expireDueHolds, forgetOldProposals } from '../server/scheduling/hold-expiry.js';
import { rollAvailability } from '../server/scheduling/recurring-availability.js';
import type { Store } from '../server/store/store.js';
import { connection } from './queues.js';

export const SCHEDULING_QUEUE = 'scheduling';

/**
 * Scheduling housekeeping on BullMQ job schedulers (one per name across all processes): lapsed holds
 * expired, and recurring availability turned into Slots with the horizon rolling forward. Holds are
 * also expired lazily wherever slots are offered or claimed, so a dead worker delays nothing a client sees.
 */
export async function startSchedulingWorker(deps: { store: Store; redisUrl: string; queuePrefix: string; everyMs: number; stalledIntervalMs: number }): Promise<{ stop(): Promise<void> }> {
  const opts = { connection: connection(deps.redisUrl, true), prefix: deps.queuePrefix };
  const queue = new Queue(SCHEDULING_QUEUE, opts);
  queue.on('error', () => undefined);
  const template = { opts: { removeOnComplete: true, removeOnFail: 100 } };
  await queue.upsertJobScheduler('expire-holds', { every: deps.everyMs }, { name: 'expire-holds', ...template });
  await queue.upsertJobScheduler('recurring-availability', { every: deps.everyMs }, { name: 'recurring-availability', ...template });
  const worker = new Worker(
    SCHEDULING_QUEUE,
    async (job) => {
      if (job.name === 'expire-holds') {
        const expired = await expireDueHolds(deps.store);
        if (expired) logger.info({ expired }, 'expired lapsed appointment holds');
        await forgetOldProposals(deps.store);
      } else if (job.name === 'recurring-availability') {
        const { created, removed } = await rollAvailability(deps.store);
        if (created || removed) logger.info({ created, removed }, 'recurring availability turned into slots');
      }
    },
    { connection: connection(deps.redisUrl), prefix: deps.queuePrefix, concurrency: 1, stalledInterval: deps.stalledIntervalMs, lockDuration: Math.max(deps.stalledIntervalMs, 30_000) },
  );
  worker.on('error', () => undefined); // Redis outages: BullMQ reconnects by itself
  return {
    async stop() {
      await worker.close();
      await queue.close();
    },
  };
}

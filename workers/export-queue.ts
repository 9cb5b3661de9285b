import { Queue, type JobsOptions } from 'bullmq';
import type { ExportDispatcher } from '../server/export/dispatcher.js';
import { connection, within } from './queues.js';

export const EXPORT_QUEUE = 'exports';

/** One bulk export job; everything else about it is in the export_job row. */
export interface ExportQueueJob {
  exportId: string;
}

// Exports are long and restartable: a few attempts (a worker killed mid-export retries from scratch), results kept a day.
export const EXPORT_JOB_OPTIONS: JobsOptions = {
  attempts: 3,
  backoff: { type: 'exponential', delay: 1000 },
  removeOnComplete: { age: 24 * 3600 },
  removeOnFail: { age: 24 * 3600 },
};

/** BullMQ job id of an export: derived from the export id, so a repeated dispatch never queues it twice. */
export const exportJobId = (exportId: string): string => `export_${exportId}`;

/** The producer side of the export queue, used by the API at kick-off and cancel. */
export class QueueDispatcher implements ExportDispatcher {
  readonly runner = 'queue' as const;
  readonly queue: Queue<ExportQueueJob>;

  constructor(redisUrl: string, prefix: string) {
    this.queue = new Queue<ExportQueueJob>(EXPORT_QUEUE, { connection: connection(redisUrl, true), prefix });
    this.queue.on('error', () => undefined); // a failed add surfaces to the kick-off, which answers 503
  }

  async dispatch(exportId: string): Promise<void> {
    await within(5000, this.queue.add('export', { exportId }, { ...EXPORT_JOB_OPTIONS, jobId: exportJobId(exportId) }));
  }

  async cancel(exportId: string): Promise<void> {
    // Removing a waiting job spares a worker the start; an active (locked) job cannot be removed and stops on its own.
    await within(2000, this.queue.remove(exportJobId(exportId))).catch(() => undefined);
  }

  async stop(): Promise<void> {
    await this.queue.close().catch(() => undefined);
  }
}

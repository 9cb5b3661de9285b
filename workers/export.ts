import { Worker, type Job } from 'bullmq';
import { ExportJobs } from '../server/export/jobs.js';
import { runExport } from '../server/export/run.js';
import { logger } from '../server/logger.js';
import type { SearchEngine } from '../server/search/search.js';
import type { Queryable } from '../server/store/db.js';
import { EXPORT_QUEUE, type ExportQueueJob } from './export-queue.js';
import { connection } from './queues.js';

export interface ExportWorkerDeps {
  db: Queryable;
  search: SearchEngine;
  redisUrl: string;
  queuePrefix: string;
  baseUrl: () => string;
  stalledIntervalMs: number;
  /** Exports run at once per process; each holds one database connection most of the time. */
  concurrency?: number;
}

export interface RunningExportWorker {
  worker: Worker<ExportQueueJob>;
  stop(): Promise<void>;
}

/**
 * The bulk export worker (https://hl7.org/fhir/uv/bulkdata/export.html): takes export jobs off
 * BullMQ and runs them against the database. Started with the other workers (workers/index.ts),
 * so inside `npm start` by default and in `npm run worker`.
 */
export function startExportWorker(deps: ExportWorkerDeps): RunningExportWorker {
  const running = new Set<AbortController>();
  const jobs = new ExportJobs(deps.db);
  const process = async (job: Job<ExportQueueJob>): Promise<string> => {
    const abort = new AbortController();
    running.add(abort);
    try {
      return await runExport({ sql: deps.db, search: deps.search, baseUrl: deps.baseUrl }, job.data.exportId, abort.signal);
    } catch (err) {
      // Only the last attempt marks the export failed; earlier ones leave it in progress for the retry.
      if (job.attemptsMade + 1 >= (job.opts.attempts ?? 1)) await jobs.fail(job.data.exportId, (err as Error).message).catch(() => undefined);
      logger.warn({ err, exportId: job.data.exportId, attempt: job.attemptsMade + 1 }, 'bulk export attempt failed');
      throw err;
    } finally {
      running.delete(abort);
    }
  };
  const worker = new Worker<ExportQueueJob, string>(EXPORT_QUEUE, process, {
    connection: connection(deps.redisUrl),
    prefix: deps.queuePrefix,
    concurrency: deps.concurrency ?? 2,
    stalledInterval: deps.stalledIntervalMs,
    lockDuration: Math.max(deps.stalledIntervalMs, 2000),
  });
  worker.on('error', () => undefined); // Redis outages: BullMQ reconnects by itself
  return {
    worker,
    async stop() {
      // Interrupted exports fail this attempt and are retried (from scratch) by another worker.
      for (const a of running) a.abort('the worker is shutting down');
      await worker.close();
    },
  };
}

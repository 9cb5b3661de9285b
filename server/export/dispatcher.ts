import type { ExportRunnerKind } from './jobs.js';

/**
 * The seam between a kick-off and whatever runs the job: the BullMQ export queue
 * (workers/export-queue.ts) when Redis is configured, or the API process itself (in-process.ts).
 */
export interface ExportDispatcher {
  readonly runner: ExportRunnerKind;
  /** Hands over a job already stored in export_job. */
  dispatch(jobId: string): Promise<void>;
  /** Best effort: drops a job that has not started; a running one stops at its next checkpoint once its row is deleted. */
  cancel(jobId: string): Promise<void>;
  stop(): Promise<void>;
}

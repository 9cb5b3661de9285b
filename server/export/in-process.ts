import { logger } from '../logger.js';
import type { ExportDispatcher } from './dispatcher.js';
import { ExportJobs } from './jobs.js';
import { runExport, type ExportDeps } from './run.js';

/**
 * Runs exports inside the API process, for servers without Redis (tests, a laptop without
 * redis-server). Jobs do not survive a restart here: one interrupted by shutdown is marked failed.
 */
export class InProcessDispatcher implements ExportDispatcher {
  readonly runner = 'in-process' as const;
  private readonly running = new Map<string, { abort: AbortController; done: Promise<void> }>();

  constructor(private readonly deps: ExportDeps) {}

  async dispatch(jobId: string): Promise<void> {
    const abort = new AbortController();
    // Started on the next tick so the kick-off answers 202 first.
    const done = new Promise<void>((resolve) => setImmediate(resolve))
      .then(() => runExport(this.deps, jobId, abort.signal))
      .then(
        () => undefined,
        async (err: unknown) => {
          logger.error({ err, jobId }, 'bulk export failed');
          await new ExportJobs(this.deps.sql).fail(jobId, (err as Error).message).catch(() => undefined);
        },
      )
      .finally(() => this.running.delete(jobId));
    this.running.set(jobId, { abort, done });
  }

  async cancel(): Promise<void> {
    // Nothing to do: the deleted row stops the run at its next checkpoint.
  }

  async stop(): Promise<void> {
    for (const r of this.running.values()) r.abort.abort('the server is shutting down');
    await Promise.allSettled([...this.running.values()].map((r) => r.done));
  }
}

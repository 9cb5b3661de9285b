import type express from 'express';
import { QueueDispatcher } from '../../workers/export-queue.js';
import type { SearchEngine } from '../search/search.js';
import type { Queryable } from '../store/db.js';
import type { ExportDispatcher } from './dispatcher.js';
import { InProcessDispatcher } from './in-process.js';
import { mountExportRoutes } from './routes.js';

export interface ExportRuntime {
  dispatcher: ExportDispatcher;
  /** Mounts the status and file routes on the API's Express app. */
  mount(app: express.Express): void;
  stop(): Promise<void>;
}

/**
 * What bulk export adds to an API process. With a Redis URL, kick-offs go on the BullMQ export
 * queue and the export worker (workers/export.ts, started with the other workers) runs them, so
 * any worker process can take them. Without one, the API process runs them itself.
 */
export function startExportRuntime(deps: { sql: Queryable; search: SearchEngine; redisUrl?: string; queuePrefix: string; baseUrl: () => string; requiresAccessToken: boolean }): ExportRuntime {
  const dispatcher: ExportDispatcher = deps.redisUrl
    ? new QueueDispatcher(deps.redisUrl, deps.queuePrefix)
    : new InProcessDispatcher({ sql: deps.sql, search: deps.search, baseUrl: deps.baseUrl });
  return {
    dispatcher,
    mount: (app) => mountExportRoutes(app, { sql: deps.sql, dispatcher, baseUrl: deps.baseUrl, requiresAccessToken: deps.requiresAccessToken }),
    stop: () => dispatcher.stop(),
  };
}

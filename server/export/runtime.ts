import { QueueDispatcher } from '../../workers/export-queue.js';
import type { SearchEngine } from '../search/search.js';
import type { Queryable } from '../store/db.js';
import type { ExportDispatcher } from './dispatcher.js';
import { InProcessDispatcher } from './in-process.js';

export interface ExportRuntime {
  dispatcher: ExportDispatcher;
  stop(): Promise<void>;
}

/**
 * What bulk export adds to an API process. With a Redis URL, kick-offs go on the BullMQ export
 * queue and the export worker (workers/export.ts, started with the other workers) runs them, so
 * any worker process can take them. Without one, the API process runs them itself. The status and
 * file URLs are served by server/http/export-routes.ts.
 */
export function startExportRuntime(deps: { sql: Queryable; search: SearchEngine; redisUrl?: string; queuePrefix: string; baseUrl: () => string }): ExportRuntime {
  const dispatcher: ExportDispatcher = deps.redisUrl
    ? new QueueDispatcher(deps.redisUrl, deps.queuePrefix)
    : new InProcessDispatcher({ sql: deps.sql, search: deps.search, baseUrl: deps.baseUrl });
  return {
    dispatcher,
    stop: () => dispatcher.stop(),
  };
}

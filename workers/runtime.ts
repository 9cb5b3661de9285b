import type { Server } from 'node:http';
import { publishTopics } from '../subscriptions/topic-resources.js';
import { attachWebsocket } from '../subscriptions/websocket-channel.js';
import { startWorkers, type RunningWorkers, type WorkerDeps } from './index.js';
import { connection, Queues } from './queues.js';

export interface SubscriptionRuntime {
  workers?: RunningWorkers;
  stop(): Promise<void>;
}

/**
 * Everything subscriptions add to an API process beside the route table's checks and operations:
 * the built-in topics as resources, the websocket endpoint, and (unless RUN_WORKERS=false) the workers.
 * Without a Redis URL only the REST side runs: subscriptions are stored and checked, and their
 * changes wait in the change log for a worker.
 */
export async function startSubscriptionRuntime(deps: WorkerDeps & { http: Server }): Promise<SubscriptionRuntime> {
  const config = deps.subscriptions;
  await publishTopics(deps.store);
  if (!config.redisUrl) return { stop: async () => undefined };
  const queues = new Queues(config);
  const ws = attachWebsocket(deps.http, {
    db: deps.db,
    store: deps.store,
    redis: connection(config.redisUrl) as never,
    prefix: config.queuePrefix,
    baseUrl: deps.baseUrl,
    kick: async (id) => {
      const rows = await deps.db.query<{ delivered_through: number }>('SELECT delivered_through FROM subscription_state WHERE subscription_id = $1', [id]);
      await queues.kick(id, Number(rows[0]?.delivered_through ?? 0) + 1, `_ws${Date.now()}`);
    },
  });
  const workers = config.runWorkers ? await startWorkers({ ...deps }) : undefined;
  return {
    workers,
    async stop() {
      await ws.close();
      await workers?.stop();
      await queues.close();
    },
  };
}

import { loadConfig } from '../server/config.js';
import { boundHeapGrowth } from '../server/heap-growth.js';
import { openServices } from '../server/services.js';
import { startWorkers } from './index.js';

/**
 * `npm run worker`: relay, matcher and delivery without the HTTP API, to scale out delivery.
 * Needs DATABASE_URL (PostgreSQL; PGlite is in-process only) and REDIS_URL shared with the API.
 */
async function main(): Promise<void> {
  const config = loadConfig();
  boundHeapGrowth(config.heapGrowthPercent);
  if (!config.subscriptions.redisUrl) throw new Error('npm run worker needs REDIS_URL (the Redis the API uses)');
  if (!config.databaseUrl) throw new Error('npm run worker needs DATABASE_URL: an embedded PGlite database belongs to one process');
  const services = await openServices(config);
  const workers = await startWorkers({
    db: services.db,
    store: services.store,
    search: services.search,
    subscriptions: config.subscriptions,
    databaseUrl: config.databaseUrl,
    baseUrl: () => config.baseUrl,
  });
  console.log(`subscription workers running (queue prefix ${config.subscriptions.queuePrefix})`);
  const shutdown = (): void =>
    void workers
      .stop()
      .then(() => services.close())
      .then(() => process.exit(0));
  process.once('SIGTERM', shutdown);
  process.once('SIGINT', shutdown);
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});

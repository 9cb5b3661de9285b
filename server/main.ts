import type { Server } from 'node:http';
import { loadConfig, settingsHelp, type Config } from './config.js';
import { boundHeapGrowth } from './heap-growth.js';
import { claimDataDir } from './store/embedded-owner.js';
import { startExportRuntime } from './export/runtime.js';
import { loadPolicies } from './access/policy.js';
import { AccessCompiler } from './access/request-access.js';
import { createRateLimiter, type RateLimiter } from './abuse/rate-limit.js';
import { tokenAuditRecord } from './audit/token.js';
import { AuditWriter } from './audit/writer.js';
import { createAuthRuntime, type AuthRuntime } from './auth/runtime.js';
import { mountApiDocs } from './http/api-docs.js';
import { createApp, refuseTunnels, type Security } from './http/app.js';
import { mountConsole } from './http/console.js';
import { mountExportRoutes } from './http/export-routes.js';
import { fhirRoutes } from './rest/routes.js';
import { flushLogsNow, logger } from './logger.js';
import { openServices, type Services } from './services.js';
import { startPrivateRedis } from './private-redis.js';
import { seedNeighbourhood } from './seed.js';
import { observeQueues } from '../workers/observe.js';
import { startSubscriptionRuntime } from '../workers/runtime.js';

export interface RunningServer {
  services: Services;
  http: Server;
  /** Tokens, clients and signing keys of this process. */
  auth: AuthRuntime;
  url: string;
  /** Stops accepting, lets in-flight requests finish (bounded by shutdownTimeoutMs), then closes pools. */
  stop(): Promise<void>;
}

/** Opens the services and serves the FHIR API; `port: 0` picks a free port (tests). */
export async function startServer(config: Config): Promise<RunningServer> {
  const services = await openServices(config);
  // Bulk export: kick-offs go to the BullMQ export queue with a Redis URL, run in this process without one.
  const exports = startExportRuntime({
    sql: services.db,
    search: services.search,
    redisUrl: config.subscriptions.redisUrl,
    queuePrefix: config.subscriptions.queuePrefix,
    baseUrl: () => services.config.baseUrl,
  });
  // The audit trail is written by the server alone, in bulk; through the API, AuditEvents are read-only (server/rest/routes.ts).
  const audit = config.auditDisabled ? undefined : await startAuditTrail(config, services);
  const auth = await createAuthRuntime({ db: services.db, config, ...(audit ? { audit: (e) => audit.record(tokenAuditRecord(e)) } : {}) });
  services.onClose(() => auth.close());
  const limiter = createRateLimiter({ redisUrl: config.subscriptions.redisUrl, perMinute: config.rateLimitPerMinute, prefix: config.subscriptions.queuePrefix });
  services.onClose(() => limiter.close());
  // Every FHIR interaction and operation, from the settings: server/rest/routes.ts.
  const routes = fhirRoutes(config);
  const app = createApp({
    config,
    routes,
    fhir: { store: services.store, hub: services.store, search: services.search, exports: exports.dispatcher },
    readiness: services.readiness,
    mountRoutes: [
      (a) => mountExportRoutes(a, { sql: services.db, dispatcher: exports.dispatcher, baseUrl: () => services.config.baseUrl, requiresAccessToken: !config.auth.disabled }),
      (a) => mountApiDocs(a, { capability: () => routes.capabilityStatement(services.config.baseUrl, services.search), levelsOf: (name) => routes.findOperation(name) }),
      mountConsole,
    ],
    security: security(config, services, auth, limiter),
    audit,
  });
  const http = await new Promise<Server>((resolve) => {
    // What start-up logged so far (an open API, where the credentials went) is out before the first answer.
    const s = app.listen(config.port, () => resolve(s)).once('listening', flushLogsNow);
  });
  refuseTunnels(http);
  if (!config.databaseUrl && config.dataDir !== 'memory://') {
    const release = claimDataDir(config.dataDir, config.baseUrl);
    services.onClose(async () => release());
  }
  const subscriptions = await startSubscriptionRuntime({
    http,
    db: services.db,
    store: services.store,
    search: services.search,
    subscriptions: config.subscriptions,
    databaseUrl: config.databaseUrl,
    baseUrl: () => services.config.baseUrl,
  });
  if (config.subscriptions.redisUrl) {
    // Queue depths, delivery latency and failed deliveries on /metrics; Redis on /readyz.
    const observed = observeQueues(services.db, config.subscriptions.redisUrl, config.subscriptions.queuePrefix);
    services.readiness.redis = observed.readiness;
    services.onClose(observed.close);
  }
  const address = http.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  return {
    services,
    http,
    auth,
    url: `http://localhost:${port}`,
    async stop() {
      const closed = new Promise<void>((resolve) => http.close(() => resolve()));
      http.closeIdleConnections();
      const deadline = new Promise<void>((resolve) => setTimeout(resolve, config.shutdownTimeoutMs).unref());
      await Promise.race([closed, deadline]);
      http.closeAllConnections();
      await subscriptions.stop();
      await exports.stop();
      await services.close();
    },
  };
}

/** The audit trail's writer, with this month's partition ready before the first request. */
async function startAuditTrail(config: Config, services: Services): Promise<AuditWriter> {
  const audit = new AuditWriter({ db: services.db, log: logger, baseUrl: () => services.config.baseUrl, retentionMonths: config.auditRetentionMonths });
  services.onClose(() => audit.close());
  await audit.partitionsFor(new Date());
  if (config.auditRetentionMonths && services.db.kind === 'pglite') logger.warn('AUDIT_RETENTION_MONTHS applies on PostgreSQL only: the embedded database keeps the whole audit trail');
  return audit;
}

/** Authentication and per-client access, unless turned off explicitly: then every start says so. */
function security(config: Config, services: Services, auth: AuthRuntime, limiter: RateLimiter): Security | undefined {
  if (config.auth.disabled) {
    logger.warn('AUTHENTICATION IS OFF (AUTH_DISABLED=true): every caller is an unrestricted administrator; never run like this with real data');
    return undefined;
  }
  return { authenticate: (header) => auth.authenticate(header), access: new AccessCompiler(services.search, loadPolicies()), mount: (app) => auth.mount(app), rateLimit: (clientId) => limiter.check(clientId) };
}

if (require.main === module) {
  if (process.argv.includes('--help')) {
    console.log(settingsHelp());
    process.exit(0);
  }
  let config: Config;
  try {
    config = loadConfig();
  } catch (err) {
    console.error((err as Error).message);
    process.exit(2);
  }
  boundHeapGrowth(config.heapGrowthPercent);
  // Subscriptions need Redis: without REDIS_URL, a private redis-server runs beside the server.
  // If it cannot run, the API still serves: changes wait in the change log until a worker with Redis reads them.
  (config.subscriptions.redisUrl
    ? Promise.resolve(undefined)
    : startPrivateRedis(config.dataDir === 'memory://' ? 'data' : config.dataDir).catch((err: Error) => {
        logger.warn({ err: err.message }, 'no Redis: serving the API without subscription workers; notifications wait in the change log');
        return undefined;
      })
  )
    .then((redis) => {
      if (redis) config.subscriptions.redisUrl = redis.url;
      return startServer(config);
    })
    .then(async (s) => {
      // `npm start -- --seed` loads the neighbourhood fixtures (server/seed.ts) through the validating store.
      if (process.argv.includes('--seed')) logger.info({ resources: await seedNeighbourhood(s.services.store) }, 'seeded the neighbourhood fixtures');
      logger.info({ baseUrl: config.baseUrl, database: config.databaseUrl ? 'postgresql' : `pglite:${config.dataDir}` }, `FHIR R4 API at ${config.baseUrl}`);
      // Logs are buffered; the start lines (and where the administrator's credentials went) must show now.
      flushLogsNow();
      const shutdown = (signal: string): void => {
        logger.info({ signal }, 'shutting down: no new requests; finishing in-flight work');
        s.stop().then(
          () => process.exit(0),
          (err) => {
            logger.error({ err }, 'shutdown failed');
            process.exit(1);
          },
        );
      };
      process.once('SIGTERM', () => shutdown('SIGTERM'));
      process.once('SIGINT', () => shutdown('SIGINT'));
    })
    .catch((err) => {
      logger.fatal({ err }, 'could not start');
      process.exit(1);
    });
}

import type { Server } from 'node:http';
import { loadConfig, type Config } from './config.js';
import { createApp } from './http/app.js';
import { openServices, type Services } from './services.js';

export interface RunningServer {
  services: Services;
  http: Server;
  url: string;
  stop(): Promise<void>;
}

/** Opens the services and serves the FHIR API; `port: 0` picks a free port (tests). */
export async function startServer(config: Config): Promise<RunningServer> {
  const services = await openServices(config);
  const app = createApp({ config, fhir: { store: services.store, search: services.search } });
  const http = await new Promise<Server>((resolve) => {
    const s = app.listen(config.port, () => resolve(s));
  });
  const address = http.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  return {
    services,
    http,
    url: `http://localhost:${port}`,
    async stop() {
      await new Promise<void>((resolve) => http.close(() => resolve()));
      await services.close();
    },
  };
}

if (require.main === module) {
  const config = loadConfig();
  startServer(config)
    .then((s) => {
      console.log(`FHIR R4 API at ${config.baseUrl} (listening on ${s.url}; ${config.databaseUrl ? 'PostgreSQL' : `PGlite in ${config.dataDir}`})`);
      const shutdown = (): void => void s.stop().then(() => process.exit(0));
      process.once('SIGTERM', shutdown);
      process.once('SIGINT', shutdown);
    })
    .catch((err) => {
      console.error(err instanceof Error ? err.message : err);
      process.exit(1);
    });
}

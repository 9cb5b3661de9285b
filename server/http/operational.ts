import type { Express, Request, Response } from 'express';
import { authorizationOf } from '../auth/authorization-header.js';
import type { Config } from '../config.js';
import { httpDuration, interactionOf, registry } from '../metrics.js';
import type { Logger } from '../logger.js';
import type { ReadinessCheck } from '../readiness.js';

/** Per-request telemetry, started as the request arrives: a log line and the latency histogram of every FHIR request. */
export function recordRequest(req: Request, res: Response, log: Logger): void {
  const start = process.hrtime.bigint();
  res.on('finish', () => {
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    if (!req.originalUrl.startsWith('/fhir')) return;
    const { interaction, resourceType } = interactionOf(req.method, req.path.replace(/^\/fhir/, ''));
    httpDuration.observe({ interaction, resource_type: resourceType, status: String(res.statusCode) }, seconds);
    // The route shape only: query strings can carry NHS numbers and names.
    log.info({ requestId: res.locals.requestId, method: req.method, interaction, resourceType, status: res.statusCode, ms: Math.round(seconds * 1000) }, 'request');
  });
}

/** Operator endpoints: /healthz (alive), /readyz (dependencies), /metrics (Prometheus: METRICS_TOKEN, an administrator's access token, or loopback). */
export function mountOperational(app: Express, config: Config, readiness: Record<string, ReadinessCheck>, isAdmin?: (authorization: string | undefined) => Promise<boolean>): void {
  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });

  app.get('/readyz', async (_req, res) => {
    const results = await Promise.all(Object.entries(readiness).map(async ([name, check]) => [name, await check().catch((e: Error) => e.message)] as const));
    const failing = Object.fromEntries(results.filter(([, reason]) => reason));
    res.status(Object.keys(failing).length ? 503 : 200).json({ status: Object.keys(failing).length ? 'not ready' : 'ready', checks: Object.fromEntries(results.map(([n, r]) => [n, r ?? 'ok'])) });
  });

  app.get('/metrics', async (req, res) => {
    const token = config.metricsToken;
    const authorization = authorizationOf(req);
    // An administrator client's access token also serves: the operator console reads metrics as any client would.
    const allowed = (token ? authorization === `Bearer ${token}` : isLoopback(req.socket.remoteAddress)) || (!!authorization && !!isAdmin && (await isAdmin(authorization)));
    if (!allowed) {
      res.status(token ? 401 : 403).type('text/plain').send(token ? 'metrics need the bearer token (METRICS_TOKEN) or an administrator access token\n' : 'metrics are served to loopback clients and administrators only; set METRICS_TOKEN to scrape remotely\n');
      return;
    }
    res.type(registry.contentType).send(await registry.metrics());
  });
}

function isLoopback(address: string | undefined): boolean {
  return !!address && (address === '::1' || address.startsWith('127.') || address.startsWith('::ffff:127.'));
}

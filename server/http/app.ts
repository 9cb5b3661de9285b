import { randomUUID } from 'node:crypto';
import type { OperationOutcome } from '@medplum/fhirtypes';
import express, { type NextFunction, type Request, type Response } from 'express';
import type { Config } from '../config.js';
import { badRequest, FhirError, issue, outcome, tooLarge } from '../errors.js';
import { logger, type Logger } from '../logger.js';
import type { FhirContext, FhirRequest } from '../rest/request.js';
import { route } from '../rest/router.js';
import { bodyKind, checkAcceptable } from './negotiate.js';
import { mountOperational, type ReadinessCheck } from './operational.js';
import { parsePrefer, preferredBody, send } from './respond.js';

export interface AppServices {
  config: Config;
  fhir: Omit<FhirContext, 'baseUrl'>;
  /** What /readyz checks (database, migrations, Redis). */
  readiness?: Record<string, ReadinessCheck>;
  log?: Logger;
  /** Plain (non-FHIR) routes mounted before the FHIR handler, e.g. the bulk export status and file URLs. */
  mountRoutes?: Array<(app: express.Express) => void>;
}

const REMOVED_FROM_QUERY = ['_format', '_pretty'];

/** The HTTP face of the server: negotiation, body parsing, errors as OperationOutcome. */
export function createApp(services: AppServices): express.Express {
  const { config } = services;
  const log = services.log ?? logger;
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('query parser', false);

  app.use((req, res, next) => {
    const id = (req.header('x-request-id') || randomUUID()).slice(0, 200);
    res.locals.requestId = id;
    res.setHeader('X-Request-ID', id);
    next();
  });
  mountOperational(app, config, log, services.readiness ?? {});
  for (const mount of services.mountRoutes ?? []) mount(app);

  app.use('/fhir', express.raw({ type: (req) => req.method !== 'GET' && req.method !== 'HEAD', limit: config.maxBundleBytes }), async (req: Request, res: Response, next: NextFunction) => {
    try {
      const url = new URL(req.originalUrl, 'http://local');
      const query = url.searchParams;
      checkAcceptable(query.get('_format') ?? undefined, req.header('accept'));
      const pretty = query.get('_pretty') === 'true';
      for (const name of REMOVED_FROM_QUERY) query.delete(name);
      const path = req.path.replace(/^\/+/, '');
      const raw = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
      if (path !== '' && raw.length > config.maxBodyBytes) throw tooLarge(`The body is ${raw.length} bytes; the limit is ${config.maxBodyBytes}`);
      const prefer = parsePrefer(req.header('prefer'));
      const fhirReq: FhirRequest = {
        method: req.method as FhirRequest['method'],
        path,
        query,
        contentType: req.header('content-type'),
        body: parseBody(raw, req.header('content-type')),
        headers: {
          ifMatch: req.header('if-match'),
          ifNoneMatch: req.header('if-none-match'),
          ifModifiedSince: req.header('if-modified-since'),
          ifNoneExist: req.header('if-none-exist'),
          requestId: req.header('x-request-id'),
          strict: prefer.strict,
          preferReturn: prefer.return,
          respondAsync: prefer.respondAsync,
        },
      };
      const result = await route(fhirReq, { ...services.fhir, baseUrl: config.baseUrl });
      send(res, result.status, preferredBody(result, prefer.return), result.headers ?? {}, pretty, req.method === 'HEAD');
    } catch (err) {
      next(err);
    }
  });

  app.use((req: Request, _res: Response, next: NextFunction) => next(new FhirError(404, outcome(issue('not-found', `${req.method} ${req.path} is not part of this server; the FHIR API is under /fhir`)))));

  app.use((err: unknown, req: Request, res: Response, _next: NextFunction) => {
    const requestId = String(res.locals.requestId);
    const pretty = false;
    if (err instanceof FhirError) {
      send(res, err.status, withRequestId(err.outcome, requestId), err.headers, pretty);
      return;
    }
    const httpErr = err as { type?: string; status?: number; limit?: number };
    if (httpErr.type === 'entity.too.large') {
      send(res, 413, tooLarge(`The body is larger than the limit of ${httpErr.limit} bytes`).outcome, {}, pretty);
      return;
    }
    log.error({ requestId, method: req.method, err }, 'unexpected error');
    send(res, 500, outcome(issue('exception', `Internal error; quote request id ${requestId} to the operator`)), {}, pretty);
  });
  return app;
}

/** Errors quote the request id, so a developer can hand the operator the matching log line. */
function withRequestId(oo: OperationOutcome, requestId: string): OperationOutcome {
  return { ...oo, issue: oo.issue.map((i) => (i.severity === 'error' || i.severity === 'fatal' ? { ...i, diagnostics: `${i.diagnostics ?? ''} (request id ${requestId})`.trim() } : i)) };
}

/** JSON, JSON Patch or form body; malformed JSON is a 400 that says where. */
function parseBody(raw: Buffer, contentType: string | undefined): unknown {
  if (raw.length === 0) return undefined;
  const kind = bodyKind(contentType) ?? 'json';
  const text = raw.toString('utf8');
  if (kind === 'form') return new URLSearchParams(text);
  try {
    return JSON.parse(text);
  } catch (err) {
    throw badRequest(`The body is not valid JSON: ${(err as Error).message}`);
  }
}

import { randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import type { OperationOutcome } from '@medplum/fhirtypes';
import express, { type NextFunction, type Request, type Response } from 'express';
import { accessSearch, hiddenMatch } from '../access/access-search.js';
import type { AccessCompiler } from '../access/request-access.js';
import { armRequestTimeout } from '../abuse/request-timeout.js';
import { authorizationOf } from '../auth/authorization-header.js';
import { STATUS_PATH } from '../export/urls.js';
import type { Principal } from '../auth/principal.js';
import type { Config } from '../config.js';
import { mountCdsHooks } from '../cds-hooks/routes.js';
import { badRequest, FhirError, issue, methodNotAllowed, outcome, refusedValue, tooLarge } from '../errors.js';
import { logger, type Logger } from '../logger.js';
import type { FhirContext, FhirRequest } from '../rest/request.js';
import type { FhirRouter } from '../rest/router.js';
import type { Store } from '../store/store.js';
import { requestStore } from '../store-stack.js';
import { auditedRoute, type AuditSink } from './audited-route.js';
import { bodyKind, checkAcceptable } from './negotiate.js';
import type { ReadinessCheck } from '../readiness.js';
import { mountOperational, recordRequest } from './operational.js';
import { FHIR_JSON, parsePrefer, preferredBody, send } from './respond.js';

export interface AppServices {
  config: Config;
  /** The FHIR interactions and operations (server/rest/routes.ts). */
  routes: FhirRouter;
  /** Search, bulk export and the hub's store, which each request's store is built over (server/store-stack.ts). */
  fhir: Omit<FhirContext, 'baseUrl'>;
  /** What /readyz checks (database, migrations, Redis). */
  readiness?: Record<string, ReadinessCheck>;
  log?: Logger;
  /** Plain (non-FHIR) routes mounted before the FHIR handler, e.g. the bulk export status and file URLs. */
  mountRoutes?: Array<(app: express.Express) => void>;
  /** Who may call, and what each client may see; absent only when authentication is turned off. */
  security?: Security;
  /** Records every FHIR interaction durably; the response waits for it (an unrecorded access is refused). */
  audit?: AuditSink;
}

export interface Security {
  /** The principal of a valid bearer token, or a 401 FhirError. */
  authenticate(authorization: string | undefined): Promise<Principal>;
  access: AccessCompiler;
  /** Mounts the token endpoint and the well-known documents (open to all). */
  mount(app: express.Express): void;
  /** Throws 429 when the client (or, before authentication, the address) has made too many requests this window. */
  rateLimit(key: string): Promise<void>;
}

/** Open without a token: the CapabilityStatement and SMART discovery (https://hl7.org/fhir/smart-app-launch/conformance.html). */
const OPEN_PATHS = /^\/(metadata|\.well-known\/.*)$/;

const REMOVED_FROM_QUERY = ['_format', '_pretty'];

/** Plain routes under /fhir that are no FHIR interaction: SMART discovery and the bulk export's status and files. */
const NOT_FHIR_INTERACTIONS = new RegExp(`^/(\\.well-known/|${STATUS_PATH}/)`);

/** The HTTP face of the server: negotiation, body parsing, errors as OperationOutcome. */
export function createApp(services: AppServices): express.Express {
  const { config } = services;
  const log = services.log ?? logger;
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('query parser', false);

  // Every request, in one layer: its id, its telemetry (first, so that it times everything), its time limit.
  app.use((req, res, next) => {
    const id = (req.header('x-request-id') || randomUUID()).slice(0, 200);
    res.locals.requestId = id;
    res.setHeader('X-Request-ID', id);
    recordRequest(req, res, log);
    armRequestTimeout(res, config.requestTimeoutMs);
    next();
  });
  const security = services.security;
  // The caller of a bearer token, within its rate limit; a 401 or 429 FhirError otherwise.
  const authenticate =
    security &&
    ((req: Request, res: Response): Promise<void> =>
      security.authenticate(authorizationOf(req)).then(async (principal) => {
        res.locals.principal = principal;
        await security.rateLimit(principal.clientId);
      }));
  // The FHIR API comes before the other routes, in one layer with its token check: a FHIR request,
  // the bulk of the traffic, then passes no layer of theirs (about 30: the operator endpoints, the
  // console, API docs, OAuth endpoints), each one a path match.
  const fhir = fhirHandler(services, log);
  const readBody = express.raw({ type: () => true, limit: config.maxBundleBytes });
  app.use('/fhir', (req, res, next) => {
    const answer = (): void => {
      // The plain routes under /fhir go on to their own handlers, with the caller known.
      if (NOT_FHIR_INTERACTIONS.test(req.path)) return next();
      // GET and HEAD carry no body: not even the body parser's checks for one.
      if (req.method === 'GET' || req.method === 'HEAD') return void fhir(req, res, next);
      readBody(req, res, (err?: unknown) => (err ? next(err) : void fhir(req, res, next)));
    };
    if (!authenticate || OPEN_PATHS.test(req.path)) return answer();
    authenticate(req, res).then(answer, next);
  });
  if (authenticate) app.use('/cds-services', (req, res, next) => void authenticate(req, res).then(() => next(), next));
  const isAdmin = security && ((authorization: string | undefined) => security.authenticate(authorization).then((p) => p.kind === 'admin', () => false));
  mountOperational(app, config, services.readiness ?? {}, isAdmin);
  if (security) {
    // Token requests are limited per caller address too: guessing client secrets must be slow.
    app.use('/oauth2', (req, _res, next) => {
      security.rateLimit(`address:${req.ip}`).then(() => next(), next);
    });
    security.mount(app);
  }
  for (const mount of services.mountRoutes ?? []) mount(app);
  mountCdsHooks(app, { contextFor: (principal) => contextFor(services, principal, services.fhir.store), audit: services.audit, log, maxBodyBytes: config.maxBodyBytes });

  app.use((req: Request, _res: Response, next: NextFunction) => next(new FhirError(404, outcome(issue('not-found', `${req.method} ${req.path} is not part of this server; the FHIR API is under /fhir`)))));

  app.use((err: unknown, req: Request, res: Response, _next: NextFunction) => {
    const requestId = String(res.locals.requestId);
    const pretty = false;
    if (err instanceof FhirError) {
      send(res, err.status, withRequestId(err.outcome, requestId), err.headers, pretty);
      return;
    }
    const httpErr = err as { type?: string; status?: number; limit?: number; expose?: boolean; message?: string };
    if (httpErr.type === 'entity.too.large') {
      send(res, 413, tooLarge(`The body is larger than the limit of ${httpErr.limit} bytes`).outcome, {}, pretty);
      return;
    }
    // The body parser's and the router's refusals (a body in an encoding it cannot undo, a path
    // parameter that is not valid percent-encoding) carry their 4xx status and a message for the client.
    if ((httpErr.expose || err instanceof URIError) && httpErr.status && httpErr.status >= 400 && httpErr.status < 500) {
      const code = httpErr.status === 415 ? 'not-supported' : 'invalid';
      send(res, httpErr.status, withRequestId(outcome(issue(code, httpErr.message ?? `HTTP ${httpErr.status}`)), requestId), {}, pretty);
      return;
    }
    const refused = refusedValue(err);
    if (refused) {
      log.warn({ requestId, method: req.method, err }, 'a request value the database refused');
      send(res, refused.status, withRequestId(refused.outcome, requestId), {}, pretty);
      return;
    }
    log.error({ requestId, method: req.method, err }, 'unexpected error');
    send(res, 500, outcome(issue('exception', `Internal error; quote request id ${requestId} to the operator`)), {}, pretty);
  });
  return app;
}

/** The HTTP methods of https://hl7.org/fhir/R4/http.html: anything else is a 405 before it is routed or audited. */
const FHIR_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE']);

/**
 * CONNECT never reaches Express: Node hands it to the server's `connect` listeners, and without one
 * closes the socket unanswered. This server tunnels nothing, so it is a 405 with Allow, as any other
 * method outside FHIR's (not audited either: no FHIR interaction took place).
 */
export function refuseTunnels(server: Server): void {
  server.on('connect', (_req, socket) => {
    const refusal = methodNotAllowed('CONNECT is not a method of the FHIR RESTful API: this server is no proxy', [...FHIR_METHODS]);
    const body = JSON.stringify(refusal.outcome);
    const headers = { ...refusal.headers, 'Content-Type': FHIR_JSON, 'Content-Length': String(Buffer.byteLength(body)), Connection: 'close' };
    socket.end(`HTTP/1.1 405 Method Not Allowed\r\n${Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('')}\r\n${body}`);
  });
}

/** Answers a FHIR interaction or operation: the request as the FHIR router takes it, the answer as negotiated. */
function fhirHandler(services: AppServices, log: Logger): (req: Request, res: Response, next: NextFunction) => Promise<void> {
  const { config } = services;
  return async (req, res, next) => {
    try {
      if (!FHIR_METHODS.has(req.method)) throw methodNotAllowed(`${req.method} is not a method of the FHIR RESTful API`, [...FHIR_METHODS]);
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
      const principal = res.locals.principal as Principal | undefined;
      const caller = { principal, requestId: String(res.locals.requestId), address: req.ip };
      const store = services.fhir.store;
      const requestBase = `${req.protocol}://${req.get('host')}/fhir`;
      const contextOn = async (on: Store): Promise<FhirContext> => ({ ...(await contextFor(services, principal, on)), requestBase });
      const result = services.audit ? await auditedRoute(services.routes.route, fhirReq, caller, store, contextOn, services.audit, log) : await services.routes.route(fhirReq, await contextOn(store));
      send(res, result.status, preferredBody(result, prefer.return), result.headers ?? {}, pretty, req.method === 'HEAD');
    } catch (err) {
      next(err);
    }
  };
}

/** The hub's store (or a transaction of it) and search as the calling client may use them through the API. */
async function contextFor(services: AppServices, principal: Principal | undefined, hub: Store): Promise<FhirContext> {
  const base = { ...services.fhir, store: hub, baseUrl: services.config.baseUrl };
  if (!principal || !services.security) return base;
  const access = await services.security.access.forPrincipal(principal).prepare(hub.sql);
  const store = requestStore(hub, { client: { access, indexer: base.search } });
  return { ...base, store, search: accessSearch(base.search, access), access, hiddenMatch: hiddenMatch(base.search, access), hubSearch: base.search };
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

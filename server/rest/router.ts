import { isKnownResourceType } from '../../profiles/validator.js';
import type { Permission } from '../access/scopes.js';
import { AUDIT_SEARCH_PARAMETERS } from '../audit/trail-search.js';
import { badRequest, notFound, notSupported } from '../errors.js';
import { capabilityStatement, contributeToCapabilityStatement } from './capability.js';
import { history } from './history.js';
import { findOperation } from './operations.js';
import { conditionalPatch, patch } from './patch.js';
import { read, vread } from './read.js';
import type { FhirContext, FhirRequest, FhirResponse, Handler } from './request.js';
import { compartmentSearch, search } from './search.js';
import { conditionalDelete, conditionalUpdate, create, remove, update } from './write.js';

/** The audit trail is written by the server only (route refuses writes), as the CapabilityStatement says. */
const READ_ONLY_TYPES = ['AuditEvent'];
contributeToCapabilityStatement((statement) => {
  for (const resource of statement.rest?.[0].resource ?? []) {
    if (!READ_ONLY_TYPES.includes(resource.type)) continue;
    resource.interaction = resource.interaction?.filter((i) => ['read', 'vread', 'history-instance', 'history-type', 'search-type'].includes(i.code));
    Object.assign(resource, { updateCreate: false, conditionalCreate: false, conditionalUpdate: false, conditionalDelete: 'not-supported' });
    // The audit trail's own table answers these (server/audit/trail-search.ts), and no others.
    resource.searchParam = resource.searchParam?.filter((p) => AUDIT_SEARCH_PARAMETERS.includes(p.name));
    resource.searchInclude = [];
    resource.searchRevInclude = [];
  }
});

/** POST / with a batch or transaction Bundle; set by the bundle module so the router stays below it. */
let bundleHandler: Handler | undefined;
export function setBundleHandler(handler: Handler): void {
  bundleHandler = handler;
}

/**
 * Maps a FHIR request to its interaction (https://hl7.org/fhir/R4/http.html#summary).
 * Used by the HTTP layer and, per entry, by batch/transaction processing.
 */
export async function route(req: FhirRequest, ctx: FhirContext): Promise<FhirResponse> {
  const segments = req.path.split('/').filter(Boolean).map(decodeURIComponent);
  const [first, second, third, fourth] = segments;
  const m = req.method;
  const read_ = m === 'GET' || m === 'HEAD';

  if (segments.length === 0) {
    if (read_) return search(req, ctx, {});
    if (m === 'POST' && bundleHandler) return bundleHandler(req, ctx, {});
    throw notSupported(405, `${m} is not supported on the base URL`);
  }
  if (first === 'metadata' && segments.length === 1 && read_) return { status: 200, body: capabilityStatement(ctx.baseUrl, ctx.search) };
  if (first === '_history' && segments.length === 1 && read_) return history(req, ctx, {});
  if (first.startsWith('$') && segments.length === 1) return operation(req, ctx, first);

  if (!isKnownResourceType(first)) throw notFound(`Unknown resource type '${first}'`);
  const type = first;
  // Before the body is even validated, conditional forms included: the audit trail is written by the server only
  // (server/audit/writer.ts, its own table), never through the API. The one place this is refused.
  if (READ_ONLY_TYPES.includes(type) && !read_ && !(m === 'POST' && (second === '_search' || segments[segments.length - 1].startsWith('$')))) {
    throw notSupported(405, 'AuditEvents are written by the server only; they cannot be created, changed or deleted through the API');
  }
  if (segments.length === 1) {
    if (read_) return permitted(ctx, type, 's') && search(req, ctx, { type });
    if (m === 'POST') return create(req, ctx, { type });
    if (m === 'PUT') return conditionalUpdate(req, ctx, { type });
    if (m === 'DELETE') return conditionalDelete(req, ctx, { type });
    if (m === 'PATCH') return conditionalPatch(req, ctx, { type });
  }
  if (segments.length === 2) {
    if (second === '_search' && m === 'POST') return permitted(ctx, type, 's') && search(req, ctx, { type });
    if (second === '_history' && read_) return history(req, ctx, { type });
    if (second.startsWith('$')) return operation(req, ctx, second, type);
    const p = { type, id: second };
    if (read_) return permitted(ctx, type, 'r') && read(req, ctx, p);
    if (m === 'PUT') return update(req, ctx, p);
    if (m === 'DELETE') return remove(req, ctx, p);
    if (m === 'PATCH') return patch(req, ctx, p);
  }
  if (segments.length === 3 && read_ && third === '_history') return history(req, ctx, { type, id: second });
  if (segments.length === 3 && third.startsWith('$')) return operation(req, ctx, third, type, second);
  if (segments.length === 3 && read_ && (third === '*' || isKnownResourceType(third))) {
    return compartmentSearch(req, ctx, { type, id: second, target: third });
  }
  if (segments.length === 4 && read_ && third === '_history') return permitted(ctx, type, 'r') && vread(req, ctx, { type, id: second, vid: fourth });
  throw badRequest(`${m} /${req.path} is not a FHIR interaction this server knows`);
}

/**
 * Scope and policy gate for reads and searches (403 when the client may never do this on the type).
 * Writes are gated by the access store, which also sees the resource; true so it can lead an `&&`.
 */
function permitted(ctx: FhirContext, type: string, permission: Permission): true {
  ctx.access?.require(type, permission);
  return true;
}

async function operation(req: FhirRequest, ctx: FhirContext, name: string, type?: string, id?: string): Promise<FhirResponse> {
  const op = findOperation(name.slice(1));
  const level = id ? 'instance' : type ? 'type' : 'system';
  if (!op || !op[level] || (type && op.resourceTypes && !op.resourceTypes.includes(type))) {
    throw notFound(`Operation ${name} is not supported at the ${level} level${type ? ` of ${type}` : ''}`);
  }
  if ((req.method === 'GET' || req.method === 'HEAD') && !op.idempotent) throw notSupported(405, `${name} changes data and must be invoked with POST`);
  if (req.method !== 'GET' && req.method !== 'HEAD' && req.method !== 'POST') throw notSupported(405, `${name} is invoked with GET or POST`);
  return op.handler(req, ctx, { type, id });
}

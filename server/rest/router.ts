import type { CapabilityStatement } from '@medplum/fhirtypes';
import { isKnownResourceType } from '../../profiles/validator.js';
import type { Permission } from '../access/scopes.js';
import { badRequest, notFound, notSupported } from '../errors.js';
import type { SearchEngine } from '../search/search.js';
import { requestSegments } from './request-url.js';
import { capabilityStatement, type CapabilityContributor } from './capability.js';
import type { Operation } from './operations.js';
import type { FhirContext, FhirRequest, FhirResponse, Handler, Route } from './request.js';

/** A route's method; GET routes answer HEAD too, `*` any method (operations check theirs). */
export type RouteMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE' | '*';

/** One segment of a route's path: what it accepts, and the parameter it fills, if any. */
interface Segment {
  accepts(segment: string): boolean;
  param?: string;
}

interface Entry {
  method: RouteMethod;
  segments: Segment[];
  handler: Handler;
}

/**
 * Path segments of a route: a literal, or one of these, handed to the handler under its name
 * (without `:` or `$`). Any other `:name` matches any segment.
 */
const PLACEHOLDERS: Partial<Record<string, (segment: string) => boolean>> = {
  /** A resource type this server knows. */
  ':type': isKnownResourceType,
  /** The types of a compartment search: `*` or a resource type. */
  ':target': (s) => s === '*' || isKnownResourceType(s),
  /** An operation's name, `$` included. */
  $operation: (s) => s.startsWith('$'),
};

/**
 * Maps FHIR requests to their interactions (https://hl7.org/fhir/R4/http.html#summary), as the
 * route table (server/rest/routes.ts) lists them: used by the HTTP layer and, per entry, by
 * batch/transaction processing. Routes are tried in the order they were added.
 */
export class FhirRouter {
  private readonly routes: Entry[] = [];
  private readonly operations = new Map<string, Operation>();
  private readonly contributors: CapabilityContributor[] = [];
  private readonly readOnlyTypes = new Map<string, string>();

  /** An interaction at a path below the FHIR base, e.g. `:type/:id/_history/:vid`. */
  on(method: RouteMethod, path: string, handler: Handler): this {
    this.routes.push({ method, segments: path.split('/').filter(Boolean).map(segmentOf), handler });
    return this;
  }

  /** An operation ($name), invoked by the `$operation` routes at the levels it names. */
  operation(op: Operation): this {
    this.operations.set(op.name, op);
    return this;
  }

  /** What the CapabilityStatement says beyond the interactions and operations; applied in the order added. */
  capability(contribute: CapabilityContributor): this {
    this.contributors.push(contribute);
    return this;
  }

  /** A type clients read and search but never write: other methods are a 405 before the body is even validated. */
  readOnly(type: string, refusal: string): this {
    this.readOnlyTypes.set(type, refusal);
    return this;
  }

  /** The response to a FHIR request (a property, so it can be handed on as a `Route`). */
  readonly route: Route = async (req, ctx) => {
    const segments = requestSegments(req);
    const refusal = this.readOnlyTypes.get(segments[0]);
    if (refusal && writes(req.method, segments)) throw notSupported(405, refusal);
    for (const entry of this.routes) {
      const params = matches(entry, req.method, segments);
      if (params) return entry.handler(req, ctx, params);
    }
    if (segments.length === 0) throw notSupported(405, `${req.method} is not supported on the base URL`);
    if (!isKnownResourceType(segments[0])) throw notFound(`Unknown resource type '${segments[0]}'`);
    throw badRequest(`${req.method} /${req.path} is not a FHIR interaction this server knows`);
  };

  /** The handler of the `$operation` routes: the named operation, if it is offered at this level and type. */
  readonly invokeOperation: Handler = async (req, ctx, { operation: name, type, id }) => {
    const op = this.operations.get(name.slice(1));
    const level = id ? 'instance' : type ? 'type' : 'system';
    if (!op || !op[level] || (type && op.resourceTypes && !op.resourceTypes.includes(type))) {
      throw notFound(`Operation ${name} is not supported at the ${level} level${type ? ` of ${type}` : ''}`);
    }
    if ((req.method === 'GET' || req.method === 'HEAD') && !op.idempotent) throw notSupported(405, `${name} changes data and must be invoked with POST`);
    if (req.method !== 'GET' && req.method !== 'HEAD' && req.method !== 'POST') throw notSupported(405, `${name} is invoked with GET or POST`);
    return op.handler(req, ctx, { type, id });
  };

  /** What this server does, from the table: https://hl7.org/fhir/R4/capabilitystatement.html */
  capabilityStatement(baseUrl: string, search: SearchEngine): CapabilityStatement {
    return capabilityStatement(baseUrl, search, [...this.operations.values()], this.contributors);
  }

  /** The operation of that name (without `$`), e.g. for the API documentation. */
  findOperation(name: string): Operation | undefined {
    return this.operations.get(name);
  }
}

function segmentOf(pattern: string): Segment {
  const rule = PLACEHOLDERS[pattern];
  if (rule) return { accepts: rule, param: pattern.slice(1) };
  if (pattern.startsWith(':')) return { accepts: () => true, param: pattern.slice(1) };
  return { accepts: (segment) => segment === pattern };
}

/** The route's parameters if it answers this method and path. */
function matches(entry: Entry, method: FhirRequest['method'], segments: string[]): Record<string, string> | undefined {
  if (entry.segments.length !== segments.length) return undefined;
  if (entry.method !== '*' && entry.method !== method && !(entry.method === 'GET' && method === 'HEAD')) return undefined;
  for (let i = 0; i < segments.length; i++) if (!entry.segments[i].accepts(segments[i])) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < segments.length; i++) {
    const param = entry.segments[i].param;
    if (param) params[param] = segments[i];
  }
  return params;
}

/** Any method but a read, a POST _search or a POST operation. */
function writes(method: FhirRequest['method'], segments: string[]): boolean {
  if (method === 'GET' || method === 'HEAD') return false;
  return !(method === 'POST' && (segments[1] === '_search' || segments[segments.length - 1].startsWith('$')));
}

/**
 * The scope and policy gate of reads and searches: 403 when the client may never do this on the
 * type. Writes are gated by the access store, which also sees the resource.
 */
export function requires(permission: Permission, handler: Handler): Handler {
  // Not async: it runs inside FhirRouter.route, which turns a refusal into a rejection.
  return (req: FhirRequest, ctx: FhirContext, params: Record<string, string>): Promise<FhirResponse> => {
    ctx.access?.require(params.type, permission);
    return handler(req, ctx, params);
  };
}

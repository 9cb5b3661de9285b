import type { Bundle, Parameters, Resource } from '@medplum/fhirtypes';
import type { Principal } from '../auth/principal.js';
import type { FhirError } from '../errors.js';
import { FHIR_ID, idOf, parseLiteral } from '../fhir/reference.js';
import { decodedSegment, hasControlCharacter } from '../fhir/url-text.js';
import { patientIdsOf } from './patients.js';
import type { AuditInteraction, AuditRecord } from './record.js';

/** An event names at most this many patients and resources: a 1000-entry page would otherwise make a 1000-entity event. */
export const MAX_PATIENTS = 100;
export const MAX_RESOURCES = 100;

const WRITES = new Set<AuditInteraction>(['create', 'update', 'patch', 'batch', 'transaction']);
const QUERIES = new Set<AuditInteraction>(['search', 'history', 'operation']);

/** What the audit trail reads of a FHIR request (server/rest/request.ts FhirRequest), below the REST layer. */
export interface ExchangeRequest {
  method: 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** Path below the FHIR base, e.g. `Patient/1/_history/2`. */
  path: string;
  query: URLSearchParams;
  body?: unknown;
}

/** What the audit trail reads of a FHIR response (FhirResponse): a resource or its stored JSON text. */
export interface ExchangeResponse {
  status: number;
  body?: Resource | string;
  headers?: Record<string, string>;
}

/** The audit record of one FHIR exchange: the interaction, what it touched and how it ended. */
export function auditRecordOf(
  req: ExchangeRequest,
  res: ExchangeResponse | undefined,
  err: FhirError | undefined,
  principal: Principal | undefined,
  requestId: string | undefined,
  sourceAddress: string | undefined,
): AuditRecord {
  const shape = shapeOf(req);
  const touched = new Collector();
  if (shape.target) touched.add(shape.target);
  const location = res?.headers?.Location;
  const body = parsed(res?.body, !!(shape.target || location));
  for (const resource of resourcesIn(body)) touched.addResource(resource);
  // Batch and transaction responses name what they wrote by location, with or without the resource.
  if (isResource(body) && body.resourceType === 'Bundle') for (const e of (body as Bundle).entry ?? []) touched.addLocation(e.response?.location);
  for (const named of [location, res?.headers?.['Content-Location']]) touched.addLocation(named);
  if (WRITES.has(shape.interaction)) for (const resource of resourcesIn(req.body)) touched.addResource(resource);
  if (shape.interaction === 'search') touched.addQueriedPatients(req.query);

  const record: AuditRecord = {
    interaction: shape.interaction,
    status: res?.status ?? err?.status ?? 500,
    resources: [...touched.resources].slice(0, MAX_RESOURCES),
    patients: [...touched.patients].slice(0, MAX_PATIENTS),
  };
  if (shape.operation) record.operation = shape.operation;
  if (principal) record.principal = principal;
  if (err) record.description = err.message;
  const query = QUERIES.has(shape.interaction) ? (req.body instanceof URLSearchParams ? req.body : req.query).toString() : '';
  if (query) record.query = query;
  if (requestId) record.requestId = requestId;
  if (sourceAddress) record.sourceAddress = sourceAddress;
  return record;
}

interface Shape {
  interaction: AuditInteraction;
  operation?: string;
  /** `Type/id` named by the path. */
  target?: string;
}

/** The interaction of a request, by the same path shapes as the route table (server/rest/routes.ts). */
function shapeOf(req: ExchangeRequest): Shape {
  const segments = req.path.split('/').filter(Boolean).map(decoded);
  const [first, second, third] = segments;
  const m = req.method;
  const reading = m === 'GET' || m === 'HEAD';
  if (segments.length === 0) {
    if (reading) return { interaction: 'search' };
    return { interaction: (req.body as Bundle | undefined)?.type === 'transaction' ? 'transaction' : 'batch' };
  }
  if (first === 'metadata' && segments.length === 1) return { interaction: 'capabilities' };
  if (first === '_history' && segments.length === 1) return { interaction: 'history' };
  if (first === '_search' && segments.length === 1) return { interaction: 'search' };
  if (first.startsWith('$')) return { interaction: 'operation', operation: first };
  if (segments.length === 1) {
    if (reading) return { interaction: 'search' };
    const byMethod = { POST: 'create', PUT: 'update', DELETE: 'delete', PATCH: 'patch' } as const;
    return { interaction: byMethod[m] };
  }
  if (second === '_search') return { interaction: 'search' };
  if (second === '_history') return { interaction: 'history' };
  if (second.startsWith('$')) return { interaction: 'operation', operation: second };
  const target = `${first}/${second}`;
  if (segments.length === 2) {
    const byMethod = { GET: 'read', HEAD: 'read', POST: 'operation', PUT: 'update', DELETE: 'delete', PATCH: 'patch' } as const;
    return { interaction: byMethod[m], target };
  }
  if (third === '_history') return { interaction: segments.length === 4 ? 'vread' : 'history', target };
  if (third.startsWith('$')) return { interaction: 'operation', operation: third, target };
  return { interaction: 'search', target }; // compartment search, e.g. Patient/1/Observation
}

/** The segment decoded, or as sent when that is malformed or holds a control character (which no audit row may). */
function decoded(segment: string): string {
  const text = decodedSegment(segment);
  return text === undefined || hasControlCharacter(text) ? segment : text;
}

/**
 * The response body as an object. Reads and writes hand over the stored JSON text of the one
 * resource that the path or Location names: it is parsed only if it may name a patient (the text
 * holds `Patient/`; JSON.stringify, which wrote it, never escapes `/`), since the resource itself is
 * already on the record.
 */
function parsed(body: ExchangeResponse['body'], resourceNamed: boolean): unknown {
  if (typeof body !== 'string') return body;
  if (resourceNamed && !body.includes('Patient/')) return undefined;
  try {
    return JSON.parse(body);
  } catch {
    return undefined;
  }
}

/** The resources a body carries: itself, a Bundle's entries, or an operation's Parameters resources. */
function resourcesIn(body: unknown): Resource[] {
  if (!isResource(body)) return [];
  // A request's body is as the client sent it, malformed too: anything but a list of objects holds none.
  const resourcesOf = (list: unknown): Resource[] => (Array.isArray(list) ? list.map((item: { resource?: unknown } | null) => item?.resource).filter(isResource) : []);
  if (body.resourceType === 'Bundle') return resourcesOf((body as Bundle).entry);
  if (body.resourceType === 'Parameters') return resourcesOf((body as Parameters).parameter);
  return [body];
}

function isResource(value: unknown): value is Resource {
  return typeof value === 'object' && value !== null && typeof (value as Resource).resourceType === 'string';
}

/** Touched resources and patients, in first-seen order. */
class Collector {
  readonly resources = new Set<string>();
  readonly patients = new Set<string>();

  add(reference: string): void {
    this.resources.add(reference);
    const patient = idOf(reference, 'Patient');
    if (patient) this.patients.add(patient);
  }

  addResource(resource: Resource): void {
    if (resource.resourceType === 'OperationOutcome') return;
    if (resource.id) this.add(`${resource.resourceType}/${resource.id}`);
    for (const id of patientIdsOf(resource)) this.patients.add(id);
  }

  addLocation(location: string | undefined): void {
    const ref = location ? parseLiteral(location) : undefined;
    if (ref) this.add(`${ref.resourceType}/${ref.id}`);
  }

  /** A search for one patient's data names that patient even when it finds nothing. */
  addQueriedPatients(query: URLSearchParams): void {
    for (const [name, value] of query) {
      const base = name.split(':')[0];
      for (const v of value.split(',')) {
        const patient = idOf(v, 'Patient');
        if (patient) this.patients.add(patient);
        else if (base === 'patient' && FHIR_ID.test(v)) this.patients.add(v);
      }
    }
  }
}

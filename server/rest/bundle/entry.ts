import { STATUS_CODES } from 'node:http';
import type { Binary, BundleEntry, BundleEntryResponse, OperationOutcome, Resource } from '@medplum/fhirtypes';
import { badRequest, issue, outcome } from '../../errors.js';
import type { FhirRequest, FhirResponse } from '../request.js';
import { pathSegment } from '../request-url.js';

export type PreferReturn = FhirRequest['headers']['preferReturn'];

const METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE']);

/** One Bundle entry as the interaction it asks for (https://hl7.org/fhir/R4/bundle-definitions.html#Bundle.entry.request). */
export interface EntryRequest {
  index: number;
  fullUrl?: string;
  request: FhirRequest;
  /** Type of the resource the url addresses (undefined for system-level urls such as `metadata`). */
  type?: string;
  /** Logical id in the url, when it names one resource. */
  id?: string;
  /** Human label for messages: `POST Patient`. */
  label: string;
}

export const entryPath = (index: number): string => `Bundle.entry[${index}]`;

/** Turns `Bundle.entry[i].request` into a FhirRequest; the url may be relative or absolute on this server. */
export function parseEntry(entry: BundleEntry, index: number, baseUrl: string): EntryRequest {
  const at = entryPath(index);
  if (typeof entry !== 'object' || entry === null) throw badRequest(`${at} must be an object`, at);
  if (entry.fullUrl !== undefined && typeof entry.fullUrl !== 'string') throw badRequest(`${at}.fullUrl must be a string`, `${at}.fullUrl`);
  const method = entry.request?.method;
  if (!method || !METHODS.has(method)) throw badRequest(`${at}: request.method must be one of GET, HEAD, POST, PUT, PATCH, DELETE`, `${at}.request.method`);
  // The request's strings as the client sent them, before anything reads one as a string.
  for (const name of ['url', 'ifMatch', 'ifNoneMatch', 'ifModifiedSince', 'ifNoneExist'] as const) {
    const value: unknown = entry.request?.[name];
    if (value !== undefined && typeof value !== 'string') throw badRequest(`${at}: request.${name} must be a string`, `${at}.request.${name}`);
  }
  let url = entry.request?.url;
  if (!url) throw badRequest(`${at}: request.url is required`, `${at}.request.url`);
  if (url.startsWith(`${baseUrl}/`)) url = url.slice(baseUrl.length + 1);
  else if (/^[a-z][a-z0-9+.-]*:/i.test(url)) throw badRequest(`${at}: request.url ${url} is not on this server (${baseUrl})`, `${at}.request.url`);
  const q = url.indexOf('?');
  const path = (q < 0 ? url : url.slice(0, q)).replace(/^\/+/, '');
  const segments = path.split('/').filter(Boolean);
  if (!segments.length) throw badRequest(`${at}: request.url must name a resource type, not the base (no nested batches)`, `${at}.request.url`);
  const request: FhirRequest = {
    method: method as FhirRequest['method'],
    path,
    query: new URLSearchParams(q < 0 ? '' : url.slice(q + 1)),
    headers: {
      ifMatch: entry.request?.ifMatch,
      ifNoneMatch: entry.request?.ifNoneMatch,
      ifModifiedSince: entry.request?.ifModifiedSince,
      ifNoneExist: entry.request?.ifNoneExist,
    },
  };
  if (method === 'POST' || method === 'PUT') {
    if (!entry.resource) throw badRequest(`${at}: a ${method} entry needs a resource`, `${at}.resource`);
    request.body = entry.resource;
    request.contentType = 'application/fhir+json';
  }
  if (method === 'PATCH') Object.assign(request, patchBody(entry.resource, at));
  const [type, id] = segments;
  const named = id && !id.startsWith('$') && !id.startsWith('_') ? pathSegment(id) : undefined;
  return {
    index,
    fullUrl: entry.fullUrl,
    request,
    type: /^[A-Z]/.test(type) ? type : undefined,
    id: named,
    label: `${method} ${url.length > 80 ? `${url.slice(0, 77)}...` : url}`,
  };
}

/**
 * A PATCH entry carries its patch in a Binary (a JSON Patch, base64) or as a FHIRPath Patch
 * Parameters resource: https://hl7.org/fhir/R4/http.html#patch ("in a transaction...").
 */
function patchBody(resource: Resource | undefined, at: string): Pick<FhirRequest, 'body' | 'contentType'> {
  if (resource?.resourceType === 'Parameters') return { body: resource, contentType: 'application/fhir+json' };
  if (resource?.resourceType === 'Binary') {
    const binary = resource as Binary;
    if (!binary.data || typeof binary.data !== 'string') throw badRequest(`${at}: the Binary patch has no base64 data`, `${at}.resource.data`);
    if (binary.contentType !== undefined && typeof binary.contentType !== 'string') throw badRequest(`${at}: the Binary patch's contentType must be a string`, `${at}.resource.contentType`);
    const text = Buffer.from(binary.data, 'base64').toString('utf8');
    try {
      return { body: JSON.parse(text), contentType: binary.contentType ?? 'application/json-patch+json' };
    } catch (err) {
      throw badRequest(`${at}: the Binary patch data is not base64 JSON: ${(err as Error).message}`, `${at}.resource.data`);
    }
  }
  throw badRequest(`${at}: a PATCH entry needs a Binary (JSON Patch) or a Parameters (FHIRPath Patch) resource`, `${at}.resource`);
}

export const statusLine = (status: number): string => `${status} ${STATUS_CODES[status] ?? ''}`.trim();

/**
 * Bundle.entry.response of an interaction: status, location, etag, lastModified, and the body as
 * resource or outcome, with Prefer: return= applied to writes (https://hl7.org/fhir/R4/http.html#ops).
 */
export function responseEntry(res: FhirResponse, prefer: PreferReturn, fullUrlBase: string, head = false): BundleEntry {
  const h = res.headers ?? {};
  const response: BundleEntryResponse = { status: statusLine(res.status) };
  const location = h.Location ?? h['Content-Location'];
  if (location) response.location = location;
  if (h.ETag) response.etag = h.ETag;
  if (h['Last-Modified']) response.lastModified = new Date(h['Last-Modified']).toISOString();
  const entry: BundleEntry = {};
  if (res.written && prefer && prefer !== 'representation') {
    if (prefer === 'OperationOutcome') response.outcome = outcome(issue('informational', `${res.status === 201 ? 'Created' : 'Updated'} ${location ?? ''}`.trim(), undefined, 'information'));
    return { response };
  }
  // HEAD answers like GET without the body (https://hl7.org/fhir/R4/http.html#head).
  const raw = head ? undefined : res.body;
  const body = typeof raw === 'string' ? (JSON.parse(raw) as Resource) : raw;
  if (body?.resourceType === 'OperationOutcome') response.outcome = body as OperationOutcome;
  else if (body) {
    if (body.meta?.lastUpdated) response.lastModified = body.meta.lastUpdated;
    if (body.id && h.ETag) entry.fullUrl = `${fullUrlBase}/${body.resourceType}/${body.id}`;
    entry.resource = body;
  }
  entry.response = response;
  return entry;
}

/** A failed batch entry: its own status and OperationOutcome (https://hl7.org/fhir/R4/http.html#transaction-response). */
export function errorEntry(status: number, oo: OperationOutcome): BundleEntry {
  return { response: { status: statusLine(status), outcome: oo } };
}

import type { Resource } from '@medplum/fhirtypes';
import { validateResource, validationNotes } from '../../profiles/validator.js';
import { badRequest, forbidden, issue, notSupported, outcome, preconditionFailed } from '../errors.js';
import type { ResourceVersion, Store, WriteResult } from '../store/store.js';
import { localReferences } from './local-references.js';
import type { FhirContext, FhirRequest, FhirResponse } from './request.js';
import { checkId, etag, locationOf, noneMatchNames, parseETag, versionHeaders } from './versioning.js';
import { refuseControlCharacters } from './request-url.js';

/** Validates a request body as a resource of the URL's type. */
export function resourceBody(req: FhirRequest, type: string): Resource {
  const body = req.body as { resourceType?: unknown } | undefined;
  if (body === undefined || body === null) throw badRequest(`A ${type} resource is required in the request body`);
  if (body instanceof URLSearchParams) throw notSupported(415, `A ${type} is sent as application/fhir+json, not as a form`);
  if (typeof body === 'object' && !Array.isArray(body) && body.resourceType !== type) {
    const named = typeof body.resourceType === 'string' ? `a ${body.resourceType}` : 'not a resource: its resourceType is no string';
    throw badRequest(`The body is ${named}, but the URL is for ${type}`, 'resourceType');
  }
  return validateResource(body);
}

/**
 * A check run before a create, update or patch is stored, after base validation; it may normalise
 * the resource and throw a FhirError. The route table (server/rest/routes.ts) names the checks of
 * each type (e.g. Subscription: server/rest/operations/subscription-checks.ts), so the store stays unaware of them.
 */
export type WriteCheck = (resource: Resource, ctx: FhirContext) => Promise<Resource>;

/** A write interaction, given the check every resource it writes goes through. */
export type CheckedHandler = (req: FhirRequest, ctx: FhirContext, p: Record<string, string>, check: WriteCheck) => Promise<FhirResponse>;

/** The one check of every write: references to this server made local, then the check of the resource's type. */
export function writeChecks(byType: Record<string, WriteCheck>): WriteCheck {
  return (resource, ctx) => {
    localReferences(resource, [ctx.baseUrl, ctx.requestBase ?? '']);
    const check = byType[resource.resourceType];
    return check ? check(resource, ctx) : Promise.resolve(resource);
  };
}

export function writtenResponse(result: WriteResult, baseUrl: string, body?: Resource): FhirResponse {
  const headers = versionHeaders(result);
  headers[result.created ? 'Location' : 'Content-Location'] = locationOf(baseUrl, result);
  const notes = body ? validationNotes(body) : [];
  return { status: result.created ? 201 : 200, body: result.content, headers, written: true, ...(notes.length ? { notes } : {}) };
}

/** The version If-Match requires; an ETag in any other spelling can match no current version: 412 (https://hl7.org/fhir/R4/http.html#concurrency). */
export function ifMatchVersion(req: FhirRequest): number | undefined {
  const header = req.headers.ifMatch;
  if (!header) return undefined;
  const version = parseETag(header);
  if (version === undefined) throw preconditionFailed(`If-Match ${header} is not the ETag of the current version (W/"n")`);
  return version;
}

/** Criteria of a conditional interaction: `identifier=a|b`, `?identifier=...` or `Patient?identifier=...`. */
export function criteria(text: string): URLSearchParams {
  const q = text.includes('?') ? text.slice(text.indexOf('?') + 1) : text;
  const params = new URLSearchParams(q);
  if (![...params.keys()].length) throw badRequest('Conditional criteria are empty');
  refuseControlCharacters(params, 'The conditional criterion');
  // Result parameters shape an answer and select nothing: criteria of only those would match everything.
  if ([...params.keys()].every((name) => RESULT_PARAMETERS.has(name))) throw badRequest(`Conditional criteria need a search parameter; ${[...params.keys()].join(', ')} only shape results`);
  return params;
}

/** https://hl7.org/fhir/R4/search.html#return, and the general parameters of https://hl7.org/fhir/R4/http.html#parameters. */
const RESULT_PARAMETERS = new Set(['_sort', '_count', '_include', '_revinclude', '_summary', '_total', '_elements', '_contained', '_containedType', '_format', '_pretty']);

/** The one resource the criteria select; 0 → undefined; several → 412 (https://hl7.org/fhir/R4/http.html#cond-update). */
export async function conditionalTarget(ctx: FhirContext, type: string, params: URLSearchParams): Promise<string | undefined> {
  const ids = await ctx.search.matchIds(ctx.store.sql, type, params, 2);
  if (ids.length > 1) throw preconditionFailed(`The criteria ${type}?${params} match more than one resource`);
  if (!ids.length && (await ctx.hiddenMatch?.(ctx.store.sql, type, params))) {
    throw forbidden(`The criteria ${type}?${params} match a resource outside the client's access policy: it may not be written, nor a duplicate created`);
  }
  return ids[0];
}

/** create and conditional create (If-None-Exist): https://hl7.org/fhir/R4/http.html#create */
export async function create(req: FhirRequest, ctx: FhirContext, p: Record<string, string>, check: WriteCheck): Promise<FhirResponse> {
  const resource = await check(resourceBody(req, p.type), ctx);
  if (req.headers.ifNoneExist) {
    const existing = await conditionalTarget(ctx, p.type, criteria(req.headers.ifNoneExist));
    if (existing) {
      const current = (await ctx.store.read(p.type, existing)) as ResourceVersion;
      // The existing resource's location, so a transaction entry's response names it (http.html#ccreate).
      const headers = { ...versionHeaders(current), 'Content-Location': locationOf(ctx.baseUrl, current) };
      return { status: 200, body: current.content, headers, written: true };
    }
  }
  return writtenResponse(await ctx.store.create(resource), ctx.baseUrl, req.body as Resource);
}

/** update and update-as-create: https://hl7.org/fhir/R4/http.html#update */
export async function update(req: FhirRequest, ctx: FhirContext, p: Record<string, string>, check: WriteCheck): Promise<FhirResponse> {
  checkId(p.id);
  const resource = await check(resourceBody(req, p.type), ctx);
  if (!resource.id) throw badRequest(`The ${p.type} in the body needs an id equal to the id in the URL (${p.id})`, `${p.type}.id`);
  if (resource.id !== p.id) throw badRequest(`The id in the body (${resource.id}) differs from the id in the URL (${p.id})`, `${p.type}.id`);
  const write = async (store: Store): Promise<FhirResponse> => writtenResponse(await store.update({ ...resource, id: p.id }, ifMatchVersion(req)), ctx.baseUrl, req.body as Resource);
  const ifNoneMatch = req.headers.ifNoneMatch;
  if (!ifNoneMatch) return write(ctx.store);
  // `If-None-Match: *` creates only where nothing is; an ETag writes only over another version: checked under the row's lock.
  return ctx.store.transaction(async (store) => {
    if (noneMatchNames(ifNoneMatch, await store.readForUpdate(p.type, p.id))) throw preconditionFailed(`If-None-Match ${ifNoneMatch} names the current version of ${p.type}/${p.id}`);
    return write(store);
  });
}

/** Conditional update: PUT Type?criteria (https://hl7.org/fhir/R4/http.html#cond-update) */
export async function conditionalUpdate(req: FhirRequest, ctx: FhirContext, p: Record<string, string>, check: WriteCheck): Promise<FhirResponse> {
  const resource = await check(resourceBody(req, p.type), ctx);
  return ctx.store.transaction(async (store) => {
    const tctx = { ...ctx, store };
    const target = await conditionalTarget(tctx, p.type, criteria(req.query.toString()));
    if (target && resource.id && resource.id !== target) {
      throw badRequest(`The id in the body (${resource.id}) is not the id of the matching resource (${target})`, `${p.type}.id`);
    }
    const id = target ?? resource.id;
    if (!id) return writtenResponse(await store.create(resource), ctx.baseUrl);
    checkId(id, `${p.type}.id`);
    return writtenResponse(await store.update({ ...resource, id }, ifMatchVersion(req)), ctx.baseUrl);
  });
}

/** delete: https://hl7.org/fhir/R4/http.html#delete — deleting what is already gone is a success too. */
export async function remove(req: FhirRequest, ctx: FhirContext, p: Record<string, string>): Promise<FhirResponse> {
  checkId(p.id);
  const deleted = await ctx.store.delete(p.type, p.id, ifMatchVersion(req));
  return deletedResponse(deleted, `${p.type}/${p.id}`);
}

/** Conditional delete: DELETE Type?criteria; several matches → 412 (https://hl7.org/fhir/R4/http.html#3.1.0.7.1). */
export async function conditionalDelete(req: FhirRequest, ctx: FhirContext, p: Record<string, string>): Promise<FhirResponse> {
  return ctx.store.transaction(async (store) => {
    const target = await conditionalTarget({ ...ctx, store }, p.type, criteria(req.query.toString()));
    if (!target) return { status: 200, body: outcome(issue('not-found', `No ${p.type} matches ${req.query}; nothing to delete`, undefined, 'warning')) };
    return deletedResponse(await store.delete(p.type, target, ifMatchVersion(req)), `${p.type}/${target}`);
  });
}

function deletedResponse(deleted: ResourceVersion | undefined, ref: string): FhirResponse {
  return {
    status: 200,
    body: outcome(issue('informational', deleted ? `Deleted ${ref}` : `${ref} did not exist or was already deleted`, undefined, 'information')),
    headers: deleted ? { ETag: etag(deleted.versionId) } : {},
  };
}

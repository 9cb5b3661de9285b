import { isDeepStrictEqual } from 'node:util';
import type { Parameters, Resource } from '@medplum/fhirtypes';
import { applyPatch, type Operation } from 'rfc6902';
import { validateResource } from '../../profiles/validator.js';
import { badRequest, forbidden, notFound, preconditionFailed, unprocessable } from '../errors.js';
import { applyFhirPathPatch } from './fhirpath-patch.js';
import type { FhirContext, FhirRequest, FhirResponse } from './request.js';
import { checkId, parseContent } from './versioning.js';
import { conditionalTarget, criteria, ifMatchVersion, writtenResponse, type WriteCheck } from './write.js';

/** patch: https://hl7.org/fhir/R4/http.html#patch — JSON Patch or FHIRPath Patch (a Parameters body). */
export async function patch(req: FhirRequest, ctx: FhirContext, p: Record<string, string>, check: WriteCheck): Promise<FhirResponse> {
  checkId(p.id);
  return ctx.store.transaction((store) => patchOne(req, { ...ctx, store }, p.type, p.id, check));
}

/** Conditional patch: PATCH Type?criteria. */
export async function conditionalPatch(req: FhirRequest, ctx: FhirContext, p: Record<string, string>, check: WriteCheck): Promise<FhirResponse> {
  return ctx.store.transaction(async (store) => {
    const target = await conditionalTarget({ ...ctx, store }, p.type, criteria(req.query.toString()));
    if (!target) throw notFound(`No ${p.type} matches ${req.query}; nothing to patch`);
    return patchOne(req, { ...ctx, store }, p.type, target, check);
  });
}

async function patchOne(req: FhirRequest, ctx: FhirContext, type: string, id: string, check: WriteCheck): Promise<FhirResponse> {
  const { store, baseUrl } = ctx;
  const current = await store.read(type, id);
  if (!current || current.deleted) {
    // As PUT and DELETE answer: a resource outside the client's policy is 403, not 404 (README, Security).
    if (await ctx.hiddenMatch?.(store.sql, type, new URLSearchParams({ _id: id }))) throw forbidden(`${type}/${id} is outside the client's access policy: it may not be patched`);
    throw notFound(`${type}/${id} is not known`);
  }
  const patched = applyBody(parseContent(current), req);
  if (patched.resourceType !== type || patched.id !== id) throw unprocessable('A patch may not change resourceType or id', `${type}.id`);
  const { meta, ...rest } = patched;
  const valid = await check(validateResource({ ...rest, ...(meta ? { meta } : {}) }), ctx);
  const ifMatch = ifMatchVersion(req);
  // A patch that changes nothing makes no version (as HAPI): no history row, no notification.
  if (isDeepStrictEqual(valid, parseContent(current))) {
    if (ifMatch !== undefined && ifMatch !== current.versionId) throw preconditionFailed(`If-Match version ${ifMatch} does not match the current version ${current.versionId}`);
    return writtenResponse({ ...current, created: false, resource: valid }, baseUrl);
  }
  // The version read above is the one patched: a concurrent write in between is a 412, never a lost update.
  return writtenResponse(await store.update({ ...valid, id }, ifMatch ?? current.versionId), baseUrl);
}

/** rfc6902 returns an operation's failure, but throws on an operation it cannot read (a null, a path that is no JSON Pointer). */
function jsonPatch(target: Resource, operations: unknown[]): Array<Error | null> {
  const malformed = operations.findIndex((op) => typeof op !== 'object' || op === null || typeof (op as Operation).path !== 'string');
  if (malformed >= 0) throw badRequest(`JSON Patch operation ${malformed} is not an object with a string path`, `Patch[${malformed}]`);
  // RFC 6902 §4: add, replace and test carry a value; move and copy a from.
  const incomplete = operations.findIndex((op) => {
    const { op: name } = op as Operation;
    return ['add', 'replace', 'test'].includes(name) ? !('value' in (op as object)) : ['move', 'copy'].includes(name) && typeof (op as { from?: unknown }).from !== 'string';
  });
  if (incomplete >= 0) throw badRequest(`JSON Patch operation ${incomplete} lacks the ${['move', 'copy'].includes((operations[incomplete] as Operation).op) ? 'from' : 'value'} its op needs (RFC 6902)`, `Patch[${incomplete}]`);
  try {
    return applyPatch(target, operations as Operation[]) as Array<Error | null>;
  } catch (err) {
    throw badRequest(`The JSON Patch could not be applied: ${(err as Error).message}`);
  }
}

function applyBody(resource: Resource, req: FhirRequest): Resource {
  const type = (req.contentType ?? '').split(';')[0].trim();
  if (type === 'application/json-patch+json') {
    if (!Array.isArray(req.body)) throw badRequest('A JSON Patch body is an array of operations');
    const target = structuredClone(resource);
    const results = jsonPatch(target, req.body);
    const failed = results.findIndex((r) => r !== null);
    if (failed >= 0) {
      const err = results[failed] as Error;
      const status = err.name === 'TestError' ? 422 : 400;
      const fail = status === 422 ? unprocessable : badRequest;
      throw fail(`JSON Patch operation ${failed} failed: ${err.message ?? err.name}`, `Patch[${failed}]`);
    }
    return target;
  }
  const body = req.body as Parameters | undefined;
  if (body?.resourceType === 'Parameters') return applyFhirPathPatch(resource, body);
  throw badRequest('PATCH takes application/json-patch+json, or a FHIRPath Patch Parameters resource as application/fhir+json');
}

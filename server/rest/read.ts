import { gone, notFound } from '../errors.js';
import type { ResourceVersion } from '../store/store.js';
import type { FhirContext, FhirRequest, FhirResponse } from './request.js';
import { noneMatchNames, parseVersionId, versionHeaders } from './versioning.js';

/** read: https://hl7.org/fhir/R4/http.html#read, with conditional read (If-None-Match, If-Modified-Since → 304). */
export async function read(req: FhirRequest, ctx: FhirContext, p: Record<string, string>): Promise<FhirResponse> {
  const version = await ctx.store.read(p.type, p.id);
  const found = ensureLive(version, `${p.type}/${p.id}`);
  if (notModified(req, found)) return { status: 304, headers: versionHeaders(found) };
  return { status: 200, body: found.content, headers: versionHeaders(found) };
}

/** vread: https://hl7.org/fhir/R4/http.html#vread */
export async function vread(req: FhirRequest, ctx: FhirContext, p: Record<string, string>): Promise<FhirResponse> {
  const vid = parseVersionId(p.vid);
  // A version id spelled in a way this server never assigns names no version: 404, as for any other missing one.
  const version = vid === undefined ? undefined : await ctx.store.vread(p.type, p.id, vid);
  const found = ensureLive(version, `${p.type}/${p.id}/_history/${p.vid}`);
  // A version never changes: the client holding its ETag holds it.
  if (req.headers.ifNoneMatch && noneMatchNames(req.headers.ifNoneMatch, found)) return { status: 304, headers: versionHeaders(found) };
  return { status: 200, body: found.content, headers: versionHeaders(found) };
}

function ensureLive(version: ResourceVersion | undefined, ref: string): ResourceVersion {
  if (!version) throw notFound(`${ref} is not known`);
  if (version.deleted) {
    const err = gone(`${ref} was deleted`);
    Object.assign(err.headers, versionHeaders(version));
    throw err;
  }
  return version;
}

/** https://hl7.org/fhir/R4/http.html#cread: If-None-Match wins over If-Modified-Since when both are sent (RFC 7232 §6). */
function notModified(req: FhirRequest, v: ResourceVersion): boolean {
  const { ifNoneMatch, ifModifiedSince } = req.headers;
  if (ifNoneMatch) return noneMatchNames(ifNoneMatch, v);
  if (ifModifiedSince) {
    const since = Date.parse(ifModifiedSince);
    // HTTP dates have whole seconds; compare at that precision.
    return !Number.isNaN(since) && Math.floor(v.lastUpdated.getTime() / 1000) * 1000 <= since;
  }
  return false;
}

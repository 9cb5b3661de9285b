import type { Resource } from '@medplum/fhirtypes';
import { badRequest, gone, notFound } from '../errors.js';
import { subset } from '../search/bundle.js';
import type { Controls } from '../search/controls.js';
import type { ResourceVersion } from '../store/store.js';
import type { FhirContext, FhirRequest, FhirResponse } from './request.js';
import { noneMatchNames, parseContent, parseVersionId, versionHeaders } from './versioning.js';

/** read: https://hl7.org/fhir/R4/http.html#read, with conditional read (If-None-Match, If-Modified-Since → 304). */
export async function read(req: FhirRequest, ctx: FhirContext, p: Record<string, string>): Promise<FhirResponse> {
  const version = await ctx.store.read(p.type, p.id);
  const found = ensureLive(version, `${p.type}/${p.id}`);
  if (notModified(req, found)) return { status: 304, headers: versionHeaders(found) };
  return { status: 200, body: asAsked(req, found), headers: versionHeaders(found) };
}

/** vread: https://hl7.org/fhir/R4/http.html#vread */
export async function vread(req: FhirRequest, ctx: FhirContext, p: Record<string, string>): Promise<FhirResponse> {
  const vid = parseVersionId(p.vid);
  // A version id spelled in a way this server never assigns names no version: 404, as for any other missing one.
  const version = vid === undefined ? undefined : await ctx.store.vread(p.type, p.id, vid);
  const found = ensureLive(version, `${p.type}/${p.id}/_history/${p.vid}`);
  // A version never changes: the client holding its ETag holds it.
  if (req.headers.ifNoneMatch && noneMatchNames(req.headers.ifNoneMatch, found)) return { status: 304, headers: versionHeaders(found) };
  return { status: 200, body: asAsked(req, found), headers: versionHeaders(found) };
}

/** The version whole, or the part _summary or _elements ask for, tagged SUBSETTED as a search gives it (https://hl7.org/fhir/R4/search.html#summary). */
function asAsked(req: FhirRequest, version: ResourceVersion): string | Resource {
  const summary = req.query.get('_summary');
  const elements = req.query.get('_elements');
  if (summary === null && elements === null) return version.content as string;
  if (summary !== null && !SUMMARIES.includes(summary)) throw badRequest(`_summary on a read is true, text, data or false; got '${summary}'`, '_summary');
  const controls: Pick<Controls, 'summary' | 'elements'> = {
    ...(summary !== null ? { summary: summary as Controls['summary'] } : {}),
    ...(elements !== null ? { elements: elements.split(',').map((e) => e.trim()).filter(Boolean) } : {}),
  };
  return subset(parseContent(version), controls);
}

const SUMMARIES = ['true', 'text', 'data', 'false'];

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

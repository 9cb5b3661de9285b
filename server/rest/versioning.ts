import type { Resource } from '@medplum/fhirtypes';
import { badRequest } from '../errors.js';
import type { ResourceVersion } from '../store/store.js';

/** Weak ETag of a version: https://hl7.org/fhir/R4/http.html#versioning */
export const etag = (versionId: number): string => `W/"${versionId}"`;

/** Parses `W/"3"` or `"3"` (If-Match / If-None-Match) to a version number. */
export function parseETag(value: string, header: string): number {
  const m = /^(?:W\/)?"(\d+)"$/.exec(value.trim());
  if (!m) throw badRequest(`${header} must be a version ETag such as W/"3"; got ${value}`);
  return Number(m[1]);
}

/** ETag and Last-Modified (HTTP-date) of a version. */
export function versionHeaders(v: ResourceVersion): Record<string, string> {
  return { ETag: etag(v.versionId), 'Last-Modified': v.lastUpdated.toUTCString() };
}

export function locationOf(baseUrl: string, v: ResourceVersion): string {
  return `${baseUrl}/${v.resourceType}/${v.id}/_history/${v.versionId}`;
}

/** Ids are 1–64 of [A-Za-z0-9-.]: https://hl7.org/fhir/R4/datatypes.html#id */
export function checkId(id: string, expression = 'id'): void {
  if (!/^[A-Za-z0-9\-.]{1,64}$/.test(id)) throw badRequest(`'${id}' is not a valid resource id (1 to 64 of A-Z a-z 0-9 - .)`, expression);
}

export function parseVersionId(vid: string): number {
  if (!/^\d{1,9}$/.test(vid)) throw badRequest(`'${vid}' is not a version id`, 'meta.versionId');
  return Number(vid);
}

/** The stored JSON text of a version as a resource. */
export const parseContent = (v: ResourceVersion): Resource => JSON.parse(v.content as string) as Resource;

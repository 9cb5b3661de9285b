import type { Resource } from '@medplum/fhirtypes';
import { badRequest } from '../errors.js';
import type { ResourceVersion } from '../store/store.js';

/** Weak ETag of a version: https://hl7.org/fhir/R4/http.html#versioning */
export const etag = (versionId: number): string => `W/"${versionId}"`;

/** The version an ETag (`W/"3"`, `"3"`) names; undefined for any other spelling, which names no version of ours. */
export function parseETag(value: string): number | undefined {
  const m = /^(?:W\/)?"(\d{1,9})"$/.exec(value.trim());
  return m ? Number(m[1]) : undefined;
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

/** A version id of the URL; any other spelling names no version this server has made (undefined). */
export function parseVersionId(vid: string): number | undefined {
  // As this server writes them: 1, 2, ... (`01` names no version).
  return /^[1-9]\d{0,8}$/.test(vid) ? Number(vid) : undefined;
}

/** Whether If-None-Match names the current version: `*` any, else one of its ETags (RFC 9110 section 13.1.2). */
export function noneMatchNames(header: string, current: ResourceVersion | undefined): boolean {
  if (!current || current.deleted) return false;
  return header.trim() === '*' || header.split(',').some((tag) => parseETag(tag) === current.versionId);
}

/** The stored JSON text of a version as a resource. */
export const parseContent = (v: ResourceVersion): Resource => JSON.parse(v.content as string) as Resource;

import type { Resource } from '@medplum/fhirtypes';
import { parseRelative } from '../fhir/reference.js';
import { referenceSites } from '../fhir/reference-sites.js';

/**
 * An absolute reference whose base is this server's (BASE_URL, or the origin the request came in on)
 * names the same resource as the relative one, and is stored as that: `https://hub/fhir/Patient/1` →
 * `Patient/1`, so search, includes and access policies see one spelling.
 * https://hl7.org/fhir/R4/references.html#literal
 */
export function localReferences<T extends Resource>(resource: T, bases: readonly string[]): T {
  const prefixes = prefixesOf(bases);
  for (const site of referenceSites(resource, resource.resourceType)) {
    const local = relativeTo(site.value, prefixes);
    if (local !== site.value) site.holder.reference = local;
  }
  return resource;
}

/** One reference as localReferences leaves it: relative when it is on one of the bases, else as it was. */
export function localReference(reference: string, bases: readonly string[]): string {
  return relativeTo(reference, prefixesOf(bases));
}

/** The bases as prefixes of the references on them: `http://host/fhir/`, once each. */
function prefixesOf(bases: readonly string[]): string[] {
  return [...new Set(bases.filter(Boolean).map((b) => `${b.replace(/\/+$/, '')}/`))];
}

function relativeTo(reference: string, prefixes: readonly string[]): string {
  const prefix = prefixes.find((p) => reference.startsWith(p));
  return prefix && parseRelative(reference.slice(prefix.length)) ? reference.slice(prefix.length) : reference;
}

/**
 * Search criteria on the base the request came in on read as criteria on BASE_URL, which search
 * already takes as local (`subject=http://127.0.0.1:8080/fhir/Patient/1` = `subject=Patient/1`).
 */
export function localSearchParams(params: URLSearchParams, baseUrl: string, requestBase: string | undefined): URLSearchParams {
  if (!requestBase || requestBase === baseUrl) return params;
  const prefix = `${requestBase}/`;
  const local = new URLSearchParams();
  for (const [name, value] of params) {
    local.append(name, value.split(',').map((part) => (part.startsWith(prefix) ? `${baseUrl}/${part.slice(prefix.length)}` : part)).join(','));
  }
  return local;
}


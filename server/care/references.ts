import type { Resource } from '@medplum/fhirtypes';
import { referenceSites } from '../rest/bundle/references.js';

/** `Type/id` (relative or absolute on this server) of a literal reference, if it is one. */
export function parseLiteral(reference: string, baseUrl: string): { resourceType: string; id: string } | undefined {
  const local = reference.startsWith(baseUrl + '/') ? reference.slice(baseUrl.length + 1) : reference;
  const m = /^([A-Z][A-Za-z]+)\/([A-Za-z0-9\-.]{1,64})(?:\/_history\/\d+)?$/.exec(local);
  return m ? { resourceType: m[1], id: m[2] } : undefined;
}

/** The distinct resources of the given types that these resources point at. */
export function referencedResources(resources: Resource[], types: Set<string>, baseUrl: string): Array<{ resourceType: string; id: string }> {
  const seen = new Map<string, { resourceType: string; id: string }>();
  for (const resource of resources) {
    for (const site of referenceSites(resource, resource.resourceType)) {
      const ref = parseLiteral(site.value, baseUrl);
      if (ref && types.has(ref.resourceType)) seen.set(`${ref.resourceType}/${ref.id}`, ref);
    }
  }
  return [...seen.values()];
}

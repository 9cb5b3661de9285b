import type { Resource } from '@medplum/fhirtypes';
import { parseLocal } from '../fhir/reference.js';
import { referenceSites } from '../fhir/reference-sites.js';

/** The distinct resources of the given types that these resources point at. */
export function referencedResources(resources: Resource[], types: Set<string>, baseUrl: string): Array<{ resourceType: string; id: string }> {
  const seen = new Map<string, { resourceType: string; id: string }>();
  for (const resource of resources) {
    for (const site of referenceSites(resource, resource.resourceType)) {
      const ref = parseLocal(site.value, baseUrl);
      if (ref && types.has(ref.resourceType)) seen.set(`${ref.resourceType}/${ref.id}`, { resourceType: ref.resourceType, id: ref.id });
    }
  }
  return [...seen.values()];
}

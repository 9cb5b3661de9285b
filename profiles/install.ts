import { deepEquals } from '@medplum/core';
import type { Resource } from '@medplum/fhirtypes';
import type { Store } from '../server/store/store';
import { conformance } from './conformance';

/**
 * Writes our StructureDefinitions, ValueSets and CodeSystems into the store at start, with their
 * package ids, so /StructureDefinition, /ValueSet and /CodeSystem serve them and ordinary search
 * finds them by url and version. Idempotent: a resource already stored as it is now is left alone,
 * so restarts (and several API processes starting at once) add no history versions.
 */
export async function installConformance(store: Store): Promise<number> {
  let written = 0;
  for (const resource of conformance().resources) {
    const id = resource.id as string;
    const current = await store.read(resource.resourceType, id);
    if (current?.content && !current.deleted && deepEquals(withoutMeta(JSON.parse(current.content) as Resource), withoutMeta(resource))) continue;
    await store.update({ ...resource, id });
    written++;
  }
  return written;
}

function withoutMeta(resource: Resource): Resource {
  const { meta: _meta, ...rest } = resource;
  return rest as Resource;
}

import { deepEquals } from '@medplum/core';
import type { Resource } from '@medplum/fhirtypes';
import { insertFirstVersions } from '../server/store/bulk-insert';
import type { ResourceIndexer, Store } from '../server/store/store';
import { conformance } from './conformance';

/**
 * Writes the packages' StructureDefinitions, ValueSets and CodeSystems into the store at start, with
 * their package ids, so /StructureDefinition, /ValueSet and /CodeSystem serve them and ordinary
 * search finds them by url and version. New ones are written in bulk (UK Core alone is several
 * hundred); one that changed (a package upgraded) gets a new version; one stored as it is now is
 * left alone, so restarts, and several API processes starting at once, add no history versions.
 */
export async function installConformance(store: Store, indexer: ResourceIndexer): Promise<number> {
  // As the packages ship them: a snapshot is many times its differential, and the validator keeps its own.
  const resources = conformance().published;
  return store.transaction(async (tx) => {
    // Processes starting together take turns: the second finds what the first wrote.
    await tx.sql.query("SELECT pg_advisory_xact_lock(hashtext('install-conformance'))");
    const rows = await tx.sql.query<{ resource_type: string; id: string; content: string | null }>(
      'SELECT resource_type, id, content FROM resources WHERE resource_type = ANY($1::text[]) AND id = ANY($2::text[]) FOR UPDATE',
      [[...new Set(resources.map((r) => r.resourceType))], resources.map((r) => r.id as string)],
    );
    const stored = new Map(rows.map((row) => [`${row.resource_type}/${row.id}`, row.content]));
    const fresh: (Resource & { id: string })[] = [];
    let written = 0;
    for (const resource of resources) {
      const key = `${resource.resourceType}/${resource.id}`;
      if (!stored.has(key)) {
        fresh.push(resource as Resource & { id: string });
        continue;
      }
      const content = stored.get(key);
      if (content && deepEquals(withoutMeta(JSON.parse(content) as Resource), withoutMeta(resource))) continue;
      await tx.update({ ...resource, id: resource.id as string });
      written++;
    }
    await insertFirstVersions(tx.sql, indexer, fresh);
    return written + fresh.length;
  });
}

function withoutMeta(resource: Resource): Resource {
  const { meta: _meta, ...rest } = resource;
  return rest as Resource;
}

import { randomUUID } from 'node:crypto';
import type { Resource } from '@medplum/fhirtypes';
import type { Queryable } from './db.js';
import type { ResourceIndexer } from './store.js';

/**
 * Creates many new resources (server-assigned ids, version 1) with two statements: current, history
 * and change-log rows from one unnest, then every index row. Run it inside a transaction. For writers
 * the server itself owns, such as the audit trail, which writes on every request; API writes go
 * through the Store.
 */
export async function insertNewResources(tx: Queryable, indexer: ResourceIndexer, resources: Resource[]): Promise<Resource[]> {
  return insertFirstVersions(tx, indexer, resources.map((r) => ({ ...r, id: randomUUID() })));
}

/** The same for resources whose ids the server chose and that do not exist yet (conformance resources from packages). */
export async function insertFirstVersions(tx: Queryable, indexer: ResourceIndexer, resources: (Resource & { id: string })[]): Promise<Resource[]> {
  if (!resources.length) return [];
  const now = new Date();
  const stored = resources.map((r) => ({ ...r, meta: { ...r.meta, versionId: '1', lastUpdated: now.toISOString() } }) as Resource & { id: string });
  await tx.query(
      `WITH input AS (SELECT * FROM unnest($1::text[], $2::text[], $3::text[]) AS t(resource_type, id, content)),
     r AS (INSERT INTO resources (resource_type, id, version_id, last_updated, deleted, content) SELECT resource_type, id, 1, $4, false, content FROM input),
     h AS (INSERT INTO resource_history (resource_type, id, version_id, last_updated, deleted, interaction, content) SELECT resource_type, id, 1, $4, false, 'create', content FROM input)
     INSERT INTO change_log (resource_type, id, version_id, interaction, changed_at) SELECT resource_type, id, 1, 'create', $4 FROM input`,
    [stored.map((r) => r.resourceType), stored.map((r) => r.id), stored.map((r) => JSON.stringify(r)), now],
  );
  await indexer.indexFirstVersions(tx, stored);
  return stored;
}

import { randomUUID } from 'node:crypto';
import type { Resource } from '@medplum/fhirtypes';
import type { Queryable } from './db.js';
import { PendingCreates } from './pending-creates.js';
import type { ResourceIndexer } from './store.js';

/**
 * Creates many new resources (server-assigned ids, version 1) with two statements: current, history
 * and change-log rows, then every index row (PendingCreates). Run it inside a transaction. For
 * writers the server itself owns; API writes go through the Store (which batches a transaction's
 * creates the same way).
 */
export async function insertNewResources(tx: Queryable, indexer: ResourceIndexer, resources: Resource[]): Promise<Resource[]> {
  return insertFirstVersions(tx, indexer, resources.map((r) => ({ ...r, id: randomUUID() })));
}

/** The same for resources whose ids the server chose and that do not exist yet (conformance resources from packages). */
export async function insertFirstVersions(tx: Queryable, indexer: ResourceIndexer, resources: (Resource & { id: string })[]): Promise<Resource[]> {
  const now = new Date();
  const pending = new PendingCreates(tx, indexer);
  const stored: Resource[] = [];
  for (const r of resources) {
    const version = { ...r, meta: { ...r.meta, versionId: '1', lastUpdated: now.toISOString() } } as Resource & { id: string };
    pending.add({ resourceType: version.resourceType, id: version.id, lastUpdated: now, content: JSON.stringify(version), index: await indexer.firstVersionRows(pending, version) });
    stored.push(version);
  }
  await pending.flush();
  return stored;
}

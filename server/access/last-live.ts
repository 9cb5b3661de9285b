import type { Resource } from '@medplum/fhirtypes';
import type { Queryable } from '../store/db.js';
import type { ResourceIndexer } from '../store/store.js';

/** Runs fn inside one database transaction (the store's own, or a new one). */
export type InTransaction = <T>(fn: (tx: Queryable) => Promise<T>) => Promise<T>;

/**
 * A deleted resource has no index rows, so an access policy (SQL over them) cannot judge it. This
 * puts its last live version back inside a savepoint, asks `judge` about it, and rolls the savepoint
 * back: the policy is the same SQL as for live resources, and the database is exactly as before.
 * Undefined when the resource is not deleted now (the caller judges the current row) or never lived.
 */
export async function judgeLastLiveVersion(
  inTransaction: InTransaction,
  indexer: ResourceIndexer,
  ref: { resourceType: string; id: string },
  judge: (tx: Queryable) => Promise<boolean>,
): Promise<boolean | undefined> {
  return inTransaction(async (tx) => {
    await tx.query('SAVEPOINT judge_last_live');
    try {
      const restored = await tx.query<{ content: string }>(
        `UPDATE resources r SET deleted = false, content = h.content
         FROM (SELECT content FROM resource_history WHERE resource_type = $1 AND id = $2 AND NOT deleted ORDER BY version_id DESC LIMIT 1) h
         WHERE r.resource_type = $1 AND r.id = $2 AND r.deleted
         RETURNING h.content`,
        [ref.resourceType, ref.id],
      );
      if (!restored.length) return undefined;
      await indexer.indexRows(tx, JSON.parse(restored[0].content) as Resource);
      return await judge(tx);
    } finally {
      await tx.query('ROLLBACK TO SAVEPOINT judge_last_live');
      await tx.query('RELEASE SAVEPOINT judge_last_live');
    }
  });
}

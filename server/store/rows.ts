import type { Queryable } from './db.js';
import type { ResourceVersion } from './store.js';

/** A row of `resources` or `resource_history`. */
export interface Row {
  resource_type: string;
  id: string;
  version_id: number;
  last_updated: Date;
  deleted: boolean;
  content: string | null;
}

export function toVersion(row: Row): ResourceVersion {
  return {
    resourceType: row.resource_type,
    id: row.id,
    versionId: row.version_id,
    lastUpdated: new Date(row.last_updated),
    deleted: row.deleted,
    ...(row.content !== null ? { content: row.content } : {}),
  };
}

/** Current, non-deleted versions of several resources in one query (missing ones are left out). */
export async function readMany(sql: Queryable, refs: Array<{ resourceType: string; id: string }>): Promise<ResourceVersion[]> {
  if (!refs.length) return [];
  const rows = await sql.query<Row>(
    `SELECT r.* FROM resources r JOIN unnest($1::text[], $2::text[]) AS k(t, i) ON r.resource_type = k.t AND r.id = k.i WHERE NOT r.deleted`,
    [refs.map((r) => r.resourceType), refs.map((r) => r.id)],
  );
  return rows.map(toVersion);
}

import type { Resource } from '@medplum/fhirtypes';
import type { Queryable } from '../server/store/db.js';

export type VersionKey = `${string}/${string}/${number}`;
export const versionKey = (type: string, id: string, version: number): VersionKey => `${type}/${id}/${version}`;

/** Many resource versions in one query (the matcher's before/after pairs, the deliverer's payloads). */
export async function loadVersions(sql: Queryable, wanted: [type: string, id: string, version: number][]): Promise<Map<VersionKey, Resource>> {
  const found = new Map<VersionKey, Resource>();
  if (!wanted.length) return found;
  const rows = await sql.query<{ resource_type: string; id: string; version_id: number; content: string | null }>(
    `SELECT h.resource_type, h.id, h.version_id, h.content FROM resource_history h
     JOIN unnest($1::text[], $2::text[], $3::int[]) AS w(t, i, v) ON h.resource_type = w.t AND h.id = w.i AND h.version_id = w.v`,
    [wanted.map((w) => w[0]), wanted.map((w) => w[1]), wanted.map((w) => w[2])],
    // Every match batch and delivery reads versions: parsed once per connection.
    { prepared: true },
  );
  for (const r of rows) if (r.content) found.set(versionKey(r.resource_type, r.id, r.version_id), JSON.parse(r.content) as Resource);
  return found;
}

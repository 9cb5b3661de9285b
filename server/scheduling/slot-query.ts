import type { Resource, Slot } from '@medplum/fhirtypes';
import type { Queryable } from '../store/db.js';

/**
 * Free slots starting in [from, to), earliest first, at most `limit`, optionally of some schedules:
 * one walk of the start-date index in order that stops at the limit. The generic search sorts every
 * match first (4,200 for a week of 18,000 slots: ~150 ms here); this answers the same in a few ms.
 * Only for callers whose policy reads every Slot (all member kinds as shipped).
 */
export async function freeSlotsInWindow(sql: Queryable, from: string, to: string, scheduleIds: string[] | undefined, limit: number): Promise<Slot[]> {
  const free = `EXISTS (SELECT 1 FROM search_token t WHERE t.resource_type = 'Slot' AND t.id = d.id AND t.param = 'status' AND t.code = 'free')`;
  // Some schedules: start from their slots (a few hundred in a window) rather than walk everyone's.
  const rows = scheduleIds
    ? await sql.query<{ content: string }>(
        `SELECT r.content FROM search_reference x
         JOIN search_date d ON d.resource_type = 'Slot' AND d.id = x.id AND d.param = 'start'
         JOIN resources r ON r.resource_type = 'Slot' AND r.id = x.id AND NOT r.deleted
         WHERE x.resource_type = 'Slot' AND x.param = 'schedule' AND x.target_id = ANY($3::text[]) AND x.target_type = 'Schedule'
           AND d.low >= $1::timestamptz AND d.low < $2::timestamptz AND ${free}
         ORDER BY d.low, d.id LIMIT $4`,
        [from, to, scheduleIds, limit],
      )
    : await sql.query<{ content: string }>(
        `SELECT r.content FROM search_date d
         JOIN resources r ON r.resource_type = 'Slot' AND r.id = d.id AND NOT r.deleted
         WHERE d.resource_type = 'Slot' AND d.param = 'start' AND d.low >= $1::timestamptz AND d.low < $2::timestamptz AND ${free}
         ORDER BY d.low, d.id LIMIT $3`,
        [from, to, limit],
      );
  return rows.map((r) => JSON.parse(r.content) as Slot);
}

/** Current resources by `Type/id` keys, in one query per type. */
export async function resourcesByKey(sql: Queryable, keys: Iterable<string>): Promise<Map<string, Resource>> {
  const byType = new Map<string, string[]>();
  for (const key of keys) {
    const [type, id] = key.split('/');
    if (type && id) byType.set(type, [...(byType.get(type) ?? []), id]);
  }
  const found = new Map<string, Resource>();
  for (const [type, ids] of byType) {
    const rows = await sql.query<{ id: string; content: string }>('SELECT id, content FROM resources WHERE resource_type = $1 AND id = ANY($2::text[]) AND NOT deleted', [type, ids]);
    for (const r of rows) found.set(`${type}/${r.id}`, JSON.parse(r.content) as Resource);
  }
  return found;
}

import type { Queryable } from '../store/db.js';
import type { Alongside } from '../store/store.js';
import type { IndexRows } from './extract.js';
import { timestampText } from '../store/timestamp-text.js';

/** Index tables and how each row kind becomes columns; order matches the INSERT column lists. */
const TABLES: { [K in keyof IndexRows]: { table: string; columns: [string, string][]; values: (row: IndexRows[K][number]) => unknown[] } } = {
  string: { table: 'search_string', columns: [['value_norm', 'text'], ['value_exact', 'text']], values: (r) => [r.norm, r.exact] },
  token: { table: 'search_token', columns: [['system', 'text'], ['code', 'text']], values: (r) => [r.system, r.code] },
  date: { table: 'search_date', columns: [['low', 'timestamptz'], ['high', 'timestamptz']], values: (r) => [timestampText(r.low), timestampText(r.high)] },
  number: { table: 'search_number', columns: [['low', 'numeric'], ['high', 'numeric']], values: (r) => [String(r.low), String(r.high)] },
  quantity: {
    table: 'search_quantity',
    columns: [['low', 'numeric'], ['high', 'numeric'], ['system', 'text'], ['code', 'text'], ['unit', 'text']],
    values: (r) => [String(r.low), String(r.high), r.system, r.code, r.unit],
  },
  reference: {
    table: 'search_reference',
    columns: [['target_type', 'text'], ['target_id', 'text'], ['url', 'text']],
    values: (r) => [r.targetType, r.targetId, r.url],
  },
  uri: { table: 'search_uri', columns: [['value', 'text']], values: (r) => [r.value] },
};

export const INDEX_TABLES = Object.values(TABLES).map((t) => t.table);

/** The index rows of one resource. */
export interface ResourceRows {
  resourceType: string;
  id: string;
  rows: IndexRows;
}

/**
 * Replaces the index rows of resources with one statement: data-modifying CTEs delete the old rows
 * and insert the new ones (unnest of one array per column), so a write costs one round trip
 * whatever the number of rows or resources. `alongside` adds the caller's own CTEs to the statement
 * (the store's current, history and change-log rows of new resources).
 */
export async function writeRows(sql: Queryable, resources: ResourceRows[], firstVersions = false, alongside?: Alongside): Promise<void> {
  if (!resources.length && !alongside) return;
  const params: unknown[] = [];
  const bind = (value: unknown): string => `$${params.push(value)}`;
  const ctes: string[] = alongside?.(bind) ?? [];
  // First versions have no rows to replace: skipping the deletes saves seven index probes per create.
  if (!firstVersions) {
    // One resource (an update): plain equality, whose one plan PostgreSQL keeps; the join with an
    // unnest below it re-planned for every update, at twice the cost of running it.
    const owners =
      resources.length === 1
        ? `resource_type = ${bind(resources[0].resourceType)} AND id = ${bind(resources[0].id)}`
        : `(resource_type, id) IN (SELECT * FROM unnest(${bind(resources.map((r) => r.resourceType))}::text[], ${bind(resources.map((r) => r.id))}::text[]))`;
    INDEX_TABLES.forEach((table, i) => ctes.push(`d${i} AS (DELETE FROM ${table} WHERE ${owners})`));
  }
  for (const kind of Object.keys(TABLES) as (keyof IndexRows)[]) {
    const spec = TABLES[kind] as { table: string; columns: [string, string][]; values: (row: unknown) => unknown[] };
    const list = resources.flatMap((r) => (r.rows[kind] as { param: string; grp: number | null }[]).map((row) => ({ owner: r, row })));
    if (!list.length) continue;
    const columns: unknown[][] = [list.map((x) => x.owner.resourceType), list.map((x) => x.owner.id), list.map((x) => x.row.param), list.map((x) => x.row.grp)];
    const values = list.map((x) => spec.values(x.row));
    spec.columns.forEach((_, c) => columns.push(values.map((v) => v[c])));
    const types = ['text', 'text', 'text', 'integer', ...spec.columns.map(([, t]) => t)];
    const args = columns.map((col, c) => `${bind(col)}::${types[c]}[]`);
    ctes.push(`i_${kind} AS (INSERT INTO ${spec.table} (resource_type, id, param, grp, ${spec.columns.map(([name]) => name).join(', ')}) SELECT * FROM unnest(${args.join(', ')}))`);
  }
  // The text depends only on which tables get rows (values travel as arrays): prepared, it is parsed and planned once per connection.
  if (ctes.length) await sql.query(`WITH ${ctes.join(',\n')} SELECT 1`, params, { prepared: true });
}

/** Deletes every index row of a resource in one statement, with the caller's CTEs (`alongside`). */
export async function deleteRows(sql: Queryable, resourceType: string, id: string, alongside?: Alongside): Promise<void> {
  const params: unknown[] = [];
  const bind = (value: unknown): string => `$${params.push(value)}`;
  const ctes = alongside?.(bind) ?? [];
  const owner = `resource_type = ${bind(resourceType)} AND id = ${bind(id)}`;
  INDEX_TABLES.slice(1).forEach((table, i) => ctes.push(`d${i} AS (DELETE FROM ${table} WHERE ${owner})`));
  await sql.query(`WITH ${ctes.join(', ')} DELETE FROM ${INDEX_TABLES[0]} WHERE ${owner}`, params, { prepared: true });
}

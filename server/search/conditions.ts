import type { SqlWriter } from './sql-writer.js';
import type { Filter } from './parse.js';
import { compositeSql } from './types/composite.js';
import { windowSql } from './types/date.js';
import { ROW_TYPES, rowSource } from './types/index.js';
import { columnSql } from './types/special.js';

// Filters as SQL. What a value means for each parameter type is written in types/ (beside its
// in-memory twin); this file joins those conditions into a query: OR over values, :missing, :not,
// date windows, chains and _has.

/** A boolean SQL expression: does the resource aliased `r` (of `resourceType`) satisfy the filter? */
export function filterSql(w: SqlWriter, filter: Filter, r: string, resourceType: string): string {
  switch (filter.kind) {
    case 'param':
      return paramSql(w, filter, r, resourceType);
    case 'chain': {
      const x = w.alias('ref');
      const targets = filter.targets.map(({ type, filter: inner }) => {
        const y = w.alias('t');
        return { type, ids: `SELECT ${y}.id FROM resources ${y} WHERE ${y}.resource_type = ${w.p(type)} AND NOT ${y}.deleted AND ${filterSql(w, inner, y, type)}${visible(w, y, type)}` };
      });
      const match =
        targets.length === 1
          ? `${x}.target_type = ${w.p(targets[0].type)} AND ${x}.target_id IN (${targets[0].ids})`
          : `(${x}.target_type, ${x}.target_id) IN (${targets.map((t) => `SELECT ${w.p(t.type)}::text, u.id FROM (${t.ids}) u`).join(' UNION ALL ')})`;
      return `${r}.id IN (SELECT ${x}.id FROM search_reference ${x} WHERE ${x}.resource_type = ${w.p(resourceType)} AND ${x}.param = ${w.p(filter.def.code)} AND ${match})`;
    }
    case 'has': {
      const x = w.alias('has');
      const y = w.alias('src');
      return (
        `${r}.id IN (SELECT ${x}.target_id FROM search_reference ${x} WHERE ${x}.resource_type = ${w.p(filter.sourceType)} AND ${x}.param = ${w.p(filter.def.code)} ` +
        `AND ${x}.target_type = ${w.p(resourceType)} AND ${x}.id IN (SELECT ${y}.id FROM resources ${y} WHERE ${y}.resource_type = ${w.p(filter.sourceType)} ` +
        `AND NOT ${y}.deleted AND ${filterSql(w, filter.filter, y, filter.sourceType)}${visible(w, y, filter.sourceType)}))`
      );
    }
  }
}

/** ` AND <visibility>` when the query runs for a client with an access policy. */
function visible(w: SqlWriter, r: string, type: string): string {
  return w.access ? ` AND ${w.access(w, r, type)}` : '';
}

function paramSql(w: SqlWriter, filter: Filter & { kind: 'param' }, r: string, resourceType: string): string {
  const { def, modifier, values } = filter;
  if (def.column) return columnSql(w, def, modifier, values, r);
  if (def.type === 'composite' && modifier !== 'missing') return compositeSql(w, def, values, r, resourceType);
  const rows = rowSource(def, modifier);
  const table = ROW_TYPES[rows.kind].table;
  const type = ROW_TYPES[rows.type];
  const x = w.alias('x');
  const scope = `${x}.resource_type = ${w.p(resourceType)} AND ${x}.param = ${w.p(rows.param)}`;
  if (modifier === 'missing') {
    const exists = `EXISTS (SELECT 1 FROM ${table} ${x} WHERE ${scope} AND ${x}.id = ${r}.id)`;
    return values[0] === 'true' ? `NOT ${exists}` : exists;
  }
  const positive = modifier === 'not' ? undefined : modifier === 'not-in' ? 'in' : modifier;
  let any = values.map((v) => `(${type.sql(w, def, positive, x, v)})`).join(' OR ');
  if (filter.upper !== undefined) {
    const span = windowSql(w, x, values[0], filter.upper);
    any = `(${any}) AND (${type.sql(w, def, positive, x, filter.upper)})${span ? ` AND ${span}` : ''}`;
  }
  if (modifier === 'not' || modifier === 'not-in') {
    // :not matches resources with no such value at all, including those without the element (https://hl7.org/fhir/R4/search.html#token).
    return `NOT EXISTS (SELECT 1 FROM ${table} ${x} WHERE ${scope} AND ${x}.id = ${r}.id AND (${any}))`;
  }
  return `${r}.id IN (SELECT ${x}.id FROM ${table} ${x} WHERE ${scope} AND (${any}))`;
}

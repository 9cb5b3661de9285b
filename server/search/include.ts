import type { Queryable } from '../store/db.js';
import type { RowFilter } from './row-filter.js';
import { SqlWriter } from './sql-writer.js';
import type { IncludeSpec } from './controls.js';

export interface Found {
  resource_type: string;
  id: string;
  content: string;
}

/** Guards against an _include:iterate graph that keeps growing. */
const MAX_ROUNDS = 5;
const MAX_INCLUDED = 1000;

/**
 * _include and _revinclude (https://hl7.org/fhir/R4/search.html#include): resources the matches
 * refer to, and resources referring to them; `:iterate` repeats over what was just included.
 */
export async function findIncludes(sql: Queryable, matches: Found[], include: IncludeSpec[], revinclude: IncludeSpec[], access?: RowFilter): Promise<Found[]> {
  const seen = new Set(matches.map(key));
  const included: Found[] = [];
  let frontier = matches;
  for (let round = 0; round < MAX_ROUNDS && frontier.length && included.length < MAX_INCLUDED; round++) {
    const next: Found[] = [];
    const specs = (list: IncludeSpec[]): IncludeSpec[] => (round === 0 ? list : list.filter((s) => s.iterate));
    for (const spec of sameSourceMerged(specs(include))) next.push(...(await forward(sql, frontier, spec, access)));
    for (const spec of specs(revinclude)) next.push(...(await reverse(sql, frontier, spec, access)));
    frontier = [];
    for (const f of next) {
      if (seen.has(key(f)) || included.length >= MAX_INCLUDED) continue;
      seen.add(key(f));
      included.push(f);
      frontier.push(f);
    }
  }
  return included;
}

/**
 * Forward includes from the same source (and target) type in one query: the rows of its parameters
 * together are the union the separate queries would give, for one round trip instead of several.
 */
function sameSourceMerged(specs: IncludeSpec[]): IncludeSpec[] {
  const merged = new Map<string, IncludeSpec>();
  specs.forEach((spec, i) => {
    const k = spec.sourceType === '*' ? `*${i}` : `${spec.sourceType}|${spec.targetType ?? ''}`;
    const found = merged.get(k);
    merged.set(k, found ? { ...found, params: [...new Set([...found.params, ...spec.params])] } : spec);
  });
  return [...merged.values()];
}

function key(f: { resource_type: string; id: string }): string {
  return `${f.resource_type}/${f.id}`;
}

function groupByType(found: Found[]): Map<string, string[]> {
  const byType = new Map<string, string[]>();
  for (const f of found) byType.set(f.resource_type, [...(byType.get(f.resource_type) ?? []), f.id]);
  return byType;
}

// Composite components (`code#n`) are stored beside the reference rows; `*` means the reference parameters only.
const NOT_COMPONENT = "x.param NOT LIKE '%#%'";

async function forward(sql: Queryable, from: Found[], spec: IncludeSpec, access: RowFilter | undefined): Promise<Found[]> {
  const result: Found[] = [];
  for (const [type, ids] of groupByType(from)) {
    if (spec.sourceType !== '*' && spec.sourceType !== type) continue;
    const w = new SqlWriter('', new Map());
    const where = [`x.resource_type = ${w.p(type)}`, `x.id = ANY(${w.p(ids)}::text[])`, spec.sourceType === '*' ? NOT_COMPONENT : `x.param = ANY(${w.p(spec.params)}::text[])`];
    if (spec.targetType) where.push(`x.target_type = ${w.p(spec.targetType)}`);
    // Included resources obey the client's policy like matches do: what it may not read is silently left out.
    if (access) where.push(access.anyType(w, 'r', 'r'));
    result.push(
      ...(await sql.query<Found>(
        `SELECT DISTINCT r.resource_type, r.id, r.content FROM search_reference x
         JOIN resources r ON r.resource_type = x.target_type AND r.id = x.target_id AND NOT r.deleted
         WHERE ${where.join(' AND ')}`,
        w.values,
      )),
    );
  }
  return result;
}

async function reverse(sql: Queryable, to: Found[], spec: IncludeSpec, access: RowFilter | undefined): Promise<Found[]> {
  const result: Found[] = [];
  for (const [type, ids] of groupByType(to)) {
    if (spec.targetType && spec.targetType !== type) continue;
    const w = new SqlWriter('', new Map());
    const where = [`x.target_type = ${w.p(type)}`, `x.target_id = ANY(${w.p(ids)}::text[])`];
    where.push(spec.sourceType === '*' ? NOT_COMPONENT : `x.resource_type = ${w.p(spec.sourceType)} AND x.param = ANY(${w.p(spec.params)}::text[])`);
    if (access) where.push(spec.sourceType === '*' ? access.anyType(w, 'r', 'r') : access.condition(w, 'r', spec.sourceType, 'r'));
    result.push(
      ...(await sql.query<Found>(
        `SELECT DISTINCT r.resource_type, r.id, r.content FROM search_reference x
         JOIN resources r ON r.resource_type = x.resource_type AND r.id = x.id AND NOT r.deleted
         WHERE ${where.join(' AND ')}`,
        w.values,
      )),
    );
  }
  return result;
}

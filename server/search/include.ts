import type { Queryable } from '../store/db.js';
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
export async function findIncludes(sql: Queryable, matches: Found[], include: IncludeSpec[], revinclude: IncludeSpec[]): Promise<Found[]> {
  const seen = new Set(matches.map(key));
  const included: Found[] = [];
  let frontier = matches;
  for (let round = 0; round < MAX_ROUNDS && frontier.length && included.length < MAX_INCLUDED; round++) {
    const next: Found[] = [];
    const specs = (list: IncludeSpec[]): IncludeSpec[] => (round === 0 ? list : list.filter((s) => s.iterate));
    for (const spec of specs(include)) next.push(...(await forward(sql, frontier, spec)));
    for (const spec of specs(revinclude)) next.push(...(await reverse(sql, frontier, spec)));
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

async function forward(sql: Queryable, from: Found[], spec: IncludeSpec): Promise<Found[]> {
  const result: Found[] = [];
  for (const [type, ids] of groupByType(from)) {
    if (spec.sourceType !== '*' && spec.sourceType !== type) continue;
    const values: unknown[] = [type, ids];
    const params = spec.sourceType === '*' ? NOT_COMPONENT : `x.param = ANY($${values.push(spec.params)}::text[])`;
    const target = spec.targetType ? `AND x.target_type = $${values.push(spec.targetType)}` : '';
    result.push(
      ...(await sql.query<Found>(
        `SELECT DISTINCT r.resource_type, r.id, r.content FROM search_reference x
         JOIN resources r ON r.resource_type = x.target_type AND r.id = x.target_id AND NOT r.deleted
         WHERE x.resource_type = $1 AND x.id = ANY($2::text[]) AND ${params} ${target}`,
        values,
      )),
    );
  }
  return result;
}

async function reverse(sql: Queryable, to: Found[], spec: IncludeSpec): Promise<Found[]> {
  const result: Found[] = [];
  for (const [type, ids] of groupByType(to)) {
    if (spec.targetType && spec.targetType !== type) continue;
    const values: unknown[] = [type, ids];
    const source = spec.sourceType === '*' ? NOT_COMPONENT : `x.resource_type = $${values.push(spec.sourceType)} AND x.param = ANY($${values.push(spec.params)}::text[])`;
    result.push(
      ...(await sql.query<Found>(
        `SELECT DISTINCT r.resource_type, r.id, r.content FROM search_reference x
         JOIN resources r ON r.resource_type = x.resource_type AND r.id = x.id AND NOT r.deleted
         WHERE x.target_type = $1 AND x.target_id = ANY($2::text[]) AND ${source}`,
        values,
      )),
    );
  }
  return result;
}

import type { Resource } from '@medplum/fhirtypes';
import { badRequest } from '../errors.js';
import { isControl } from './controls.js';
import { extractRows } from './extract.js';
import type { AnyRow, IndexRows } from './index-rows.js';
import type { Filter } from './parse.js';
import { pairRanges, parseFilter, reportOrThrow } from './parse.js';
import type { SearchRegistry } from './registry.js';
import { compositeMatches } from './types/composite.js';
import { ROW_TYPES, rowSource } from './types/index.js';
import { columnMatches } from './types/special.js';

/**
 * The in-memory engine: "does this resource match this search?" for subscription criteria. It reads
 * the same index rows the SQL search reads (extractRows) and applies each type's in-memory twin of
 * its SQL condition (types/), so the two engines agree by construction; test/search/types/ checks
 * it type by type. Chaining, _has and :in/:not-in need other resources and are refused with a 400.
 */
export class InMemoryMatcher {
  constructor(private readonly registry: SearchRegistry) {}

  matches(resource: Resource, criteria: URLSearchParams): boolean {
    const filters: Filter[] = [];
    for (const [name, value] of criteria) {
      if (isControl(name)) continue;
      try {
        filters.push(parseFilter(this.registry, resource.resourceType, name, value));
      } catch (err) {
        reportOrThrow(err, true, []);
      }
    }
    // Only the parameters the criteria name: a subscription's match evaluates one or two expressions, not the type's every one.
    const rows = extractRows(this.registry, resource, new Set(filters.flatMap((f) => (f.kind === 'param' ? [f.def.code] : []))));
    return pairRanges(filters).every((f) => filterMatches(resource, rows, f));
  }
}

/** Mirrors paramSql in conditions.ts. */
function filterMatches(resource: Resource, rows: IndexRows, filter: Filter): boolean {
  if (filter.kind !== 'param') throw badRequest(`'${filter.name}' needs other resources and cannot be evaluated in memory`, filter.name);
  const { def, modifier, values } = filter;
  if (modifier === 'in' || modifier === 'not-in') throw badRequest(`:${modifier} cannot be evaluated in memory`, filter.name);
  if (def.column) return columnMatches(resource, def, modifier, values);
  const source = rowSource(def, modifier);
  const own = (rows[source.kind] as AnyRow[]).filter((r) => r.param === source.param);
  if (modifier === 'missing') return (own.length === 0) === (values[0] === 'true');
  if (def.type === 'composite') return values.some((v) => compositeMatches(rows, def, v));
  const type = ROW_TYPES[source.type];
  const positive = modifier === 'not' ? undefined : modifier;
  const test = (row: AnyRow): boolean =>
    values.some((v) => type.matches(def, positive, row, v)) && (filter.upper === undefined || type.matches(def, undefined, row, filter.upper));
  return modifier === 'not' ? !own.some(test) : own.some(test);
}

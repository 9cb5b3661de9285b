import type { Resource } from '@medplum/fhirtypes';
import { badRequest } from '../errors.js';
import { parseReferenceValue, uriAncestors } from './conditions.js';
import { isControl } from './controls.js';
import type { IndexRows, QuantityRow, ReferenceRow, StringRow, TokenRow, UriRow } from './extract.js';
import { extractRows } from './extract.js';
import type { Filter } from './parse.js';
import { pairRanges, parseFilter, reportOrThrow, tokenCriterion } from './parse.js';
import type { ParamType, SearchParamDef, SearchRegistry } from './registry.js';
import {
  DATE_RULES,
  NUMBER_RULES,
  dateBounds,
  dateRange,
  evaluateRule,
  normalizeString,
  numberBounds,
  parseSearchNumber,
  splitEscaped,
  splitPrefix,
  startsWithPrefix,
  unescape,
} from './values.js';

type AnyRow = { param: string; grp: number | null };

/**
 * The in-memory engine: "does this resource match this search?" for subscription criteria. It reads
 * the same index rows the SQL search reads (extractRows) and applies the same value rules
 * (values.ts), so the two engines agree by construction; test/search/engines-agree.test.ts checks it.
 * Chaining, _has and :in/:not-in need other resources and are refused with a 400.
 */
export class Matcher {
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
    return pairRanges(filters).every((f) => this.filterMatches(resource, rows, f));
  }

  private filterMatches(resource: Resource, rows: IndexRows, filter: Filter): boolean {
    if (filter.kind !== 'param') throw badRequest(`'${filter.name}' needs other resources and cannot be evaluated in memory`, filter.name);
    const { def, modifier, values } = filter;
    if (modifier === 'in' || modifier === 'not-in') throw badRequest(`:${modifier} cannot be evaluated in memory`, filter.name);
    if (def.column === 'id') {
      if (modifier === 'missing') return values[0] === 'false';
      const hit = values.map(unescape).includes(resource.id ?? '');
      return modifier === 'not' ? !hit : hit;
    }
    if (def.column === 'last_updated') {
      if (modifier === 'missing') return values[0] === 'false';
      const at = resource.meta?.lastUpdated ? Date.parse(resource.meta.lastUpdated) : NaN;
      if (Number.isNaN(at)) return false;
      return values.some((v) => dateMatches({ low: at, high: at + 1 }, v));
    }
    const { kind, param } = rowKind(def, modifier);
    const own = (rows[kind] as AnyRow[]).filter((r) => r.param === param);
    if (modifier === 'missing') return (own.length === 0) === (values[0] === 'true');
    if (def.type === 'composite') return values.some((v) => this.compositeMatches(rows, def, v));
    const valueType: ParamType = kind === 'string' ? 'string' : kind === 'token' ? 'token' : def.type;
    const test = (row: AnyRow): boolean =>
      values.some((v) => rowMatches(valueType, def, modifier === 'not' ? undefined : modifier, row, v)) &&
      (filter.upper === undefined || rowMatches(valueType, def, undefined, row, filter.upper));
    return modifier === 'not' ? !own.some(test) : own.some(test);
  }

  private compositeMatches(rows: IndexRows, def: SearchParamDef, value: string): boolean {
    const parts = splitEscaped(value, '$');
    const components = def.components!;
    const groups = new Set((rows[tableOf(components[0].def.type)] as AnyRow[]).filter((r) => r.param === `${def.code}#0`).map((r) => r.grp));
    return [...groups].some((grp) =>
      components.every((c, i) =>
        (rows[tableOf(c.def.type)] as AnyRow[]).some((r) => r.param === `${def.code}#${i}` && r.grp === grp && rowMatches(c.def.type, c.def, undefined, r, parts[i])),
      ),
    );
  }
}

function tableOf(type: ParamType): keyof IndexRows {
  return type as keyof IndexRows;
}

/** Mirrors rowsOf in conditions.ts. */
function rowKind(def: SearchParamDef, modifier: string | undefined): { kind: keyof IndexRows; param: string } {
  if (def.type === 'token' && modifier === 'text') return { kind: 'string', param: `${def.code}:text` };
  if (def.type === 'token' && modifier === 'of-type') return { kind: 'token', param: `${def.code}:of-type` };
  if (def.type === 'reference' && modifier === 'identifier') return { kind: 'token', param: `${def.code}:identifier` };
  if (def.type === 'composite') return { kind: tableOf(def.components![0].def.type), param: `${def.code}#0` };
  return { kind: tableOf(def.type), param: def.code };
}

function dateMatches(stored: { low: number; high: number }, value: string): boolean {
  const { prefix, rest } = splitPrefix(value);
  return evaluateRule(DATE_RULES[prefix], stored, dateBounds(dateRange(rest)!, Date.now()));
}

/** Mirrors valueSql in conditions.ts, row by row. */
function rowMatches(type: ParamType, def: SearchParamDef, modifier: string | undefined, row: AnyRow, value: string): boolean {
  switch (type) {
    case 'string': {
      const r = row as StringRow;
      const norm = normalizeString(unescape(value));
      if (modifier === 'exact') return r.exact === unescape(value);
      if (modifier === 'contains') return r.norm.includes(norm);
      return startsWithPrefix(r.norm, norm);
    }
    case 'token':
      return tokenMatches(modifier, row as TokenRow, value, def.implicitSystem);
    case 'date':
      return dateMatches(row as { low: number; high: number } & AnyRow, value);
    case 'number': {
      const { prefix, rest } = splitPrefix(value);
      return evaluateRule(NUMBER_RULES[prefix], row as { low: number; high: number } & AnyRow, numberBounds(parseSearchNumber(rest)!));
    }
    case 'quantity': {
      const r = row as QuantityRow;
      const [number, system, code] = splitEscaped(value, '|').map(unescape);
      const { prefix, rest } = splitPrefix(number);
      if (!evaluateRule(NUMBER_RULES[prefix], r, numberBounds(parseSearchNumber(rest)!))) return false;
      if (system && r.system !== system) return false;
      if (code && (system ? r.code !== code : r.code !== code && r.unit !== code)) return false;
      return true;
    }
    case 'reference': {
      if (modifier === 'identifier') return tokenMatches(undefined, row as TokenRow, value);
      const r = row as ReferenceRow;
      // The matcher has no base URL: absolute references to this server are compared as written.
      const ref = parseReferenceValue('', modifier, value);
      if (ref.none) return false;
      if (ref.url !== undefined) return r.url === ref.url;
      if (r.targetId !== ref.id) return false;
      if (ref.type) return r.targetType === ref.type;
      return def.targets.length === 1 ? r.targetType === def.targets[0] : true;
    }
    case 'uri': {
      const r = row as UriRow;
      const v = unescape(value);
      if (modifier === 'below') return startsWithPrefix(r.value, v);
      if (modifier === 'above') return uriAncestors(v).includes(r.value);
      return r.value === v;
    }
    default:
      return false;
  }
}

function tokenMatches(modifier: string | undefined, row: TokenRow, value: string, implicit?: string): boolean {
  if (modifier === 'of-type') {
    const [system, code, identifier] = splitEscaped(value, '|').map(unescape);
    return row.system === system && row.code === `${code}|${identifier}`;
  }
  const token = tokenCriterion(value, implicit);
  if (!token) return false;
  if (token.code !== undefined && row.code !== token.code) return false;
  if (token.system === null) return row.system === null;
  if (token.system !== undefined) return row.system === token.system;
  return true;
}

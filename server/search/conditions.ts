import { timestamp } from './index-writer.js';
import type { SqlWriter } from './sql-writer.js';
import type { Filter } from './parse.js';
import { tokenCriterion } from './parse.js';
import type { ParamType, SearchParamDef } from './registry.js';
import type { Bound, Clause, RangeRule } from './values.js';
import {
  DATE_RULES,
  NUMBER_RULES,
  dateBounds,
  dateRange,
  normalizeString,
  numberBounds,
  parseSearchNumber,
  prefixUpperBound,
  splitEscaped,
  splitPrefix,
  unescape,
} from './values.js';


const TABLES: Record<Exclude<ParamType, 'composite' | 'special'>, string> = {
  string: 'search_string',
  token: 'search_token',
  date: 'search_date',
  number: 'search_number',
  quantity: 'search_quantity',
  reference: 'search_reference',
  uri: 'search_uri',
};

/** Where a parameter's rows live: modifiers like :text and :identifier read derived rows of another table. */
function rowsOf(def: SearchParamDef, modifier: string | undefined, param = def.code): { table: string; param: string; type: ParamType } {
  if (def.type === 'token' && modifier === 'text') return { table: TABLES.string, param: `${param}:text`, type: 'string' };
  if (def.type === 'token' && modifier === 'of-type') return { table: TABLES.token, param: `${param}:of-type`, type: 'token' };
  if (def.type === 'reference' && modifier === 'identifier') return { table: TABLES.token, param: `${param}:identifier`, type: 'token' };
  if (def.type === 'composite') return { table: TABLES[def.components![0].def.type as keyof typeof TABLES], param: `${param}#0`, type: def.type };
  return { table: TABLES[def.type as keyof typeof TABLES], param, type: def.type };
}

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
  if (def.column) return columnSql(w, def.column, modifier, values, r);
  if (def.type === 'composite' && modifier !== 'missing') return compositeSql(w, def, values, r, resourceType);
  const rows = rowsOf(def, modifier);
  const x = w.alias('x');
  const scope = `${x}.resource_type = ${w.p(resourceType)} AND ${x}.param = ${w.p(rows.param)}`;
  if (modifier === 'missing') {
    const exists = `EXISTS (SELECT 1 FROM ${rows.table} ${x} WHERE ${scope} AND ${x}.id = ${r}.id)`;
    return values[0] === 'true' ? `NOT ${exists}` : exists;
  }
  const positive = modifier === 'not' ? undefined : modifier === 'not-in' ? 'in' : modifier;
  let any = values.map((v) => `(${valueSql(w, rows.type, def, positive, x, v)})`).join(' OR ');
  if (filter.upper !== undefined) {
    // A window (see pairRanges): the same stored range satisfies both bounds, so it overlaps [lower's start, upper's end).
    const lower = dateRange(splitPrefix(values[0]).rest)!;
    const upper = dateRange(splitPrefix(filter.upper).rest)!;
    const span = `tstzrange(${x}.low, ${x}.high, '[)') && tstzrange(${w.p(timestamp(lower.low))}::timestamptz, ${w.p(timestamp(upper.high))}::timestamptz, '[)')`;
    any = `(${any}) AND (${valueSql(w, rows.type, def, positive, x, filter.upper)}) AND ${span}`;
  }
  if (modifier === 'not' || modifier === 'not-in') {
    // :not matches resources with no such value at all, including those without the element (https://hl7.org/fhir/R4/search.html#token).
    return `NOT EXISTS (SELECT 1 FROM ${rows.table} ${x} WHERE ${scope} AND ${x}.id = ${r}.id AND (${any}))`;
  }
  return `${r}.id IN (SELECT ${x}.id FROM ${rows.table} ${x} WHERE ${scope} AND (${any}))`;
}

/** _id and _lastUpdated read the resources table directly. */
function columnSql(w: SqlWriter, column: 'id' | 'last_updated', modifier: string | undefined, values: string[], r: string): string {
  if (modifier === 'missing') return values[0] === 'true' ? 'false' : 'true';
  if (column === 'id') return `${modifier === 'not' ? 'NOT ' : ''}${r}.id = ANY(${w.p(values.map(unescape))}::text[])`;
  return instantSql(w, `${r}.last_updated`, values);
}

/** Date values against an instant column (as a range of one millisecond), OR-ed. */
export function instantSql(w: SqlWriter, column: string, values: string[]): string {
  const low = column;
  const high = `(${column} + interval '1 millisecond')`;
  return values
    .map((v) => {
      const { prefix, rest } = splitPrefix(v);
      return ruleSql(w, DATE_RULES[prefix], { low, high }, dateBounds(dateRange(rest)!, w.now), 'timestamptz');
    })
    .map((s) => `(${s})`)
    .join(' OR ');
}

function ruleSql(w: SqlWriter, rule: RangeRule, columns: { low: string; high: string }, bounds: Record<Bound, number>, cast: 'timestamptz' | 'numeric'): string {
  const literal = (n: number): string => `${w.p(cast === 'timestamptz' ? timestamp(n) : String(n))}::${cast}`;
  const clause = ([side, op, bound]: Clause): string => `${columns[side]} ${op} ${literal(bounds[bound])}`;
  const any = rule.any.map((all) => all.map(clause).join(' AND ')).join(') OR (');
  if (rule.negate) return `NOT ((${any}))`;
  return [`(${any})`, ...(rule.implied ?? []).map(clause)].join(' AND ');
}

/** The condition one OR-ed value sets on one index row aliased x. */
function valueSql(w: SqlWriter, type: ParamType, def: SearchParamDef, modifier: string | undefined, x: string, value: string): string {
  switch (type) {
    case 'string': {
      const norm = normalizeString(unescape(value));
      if (modifier === 'exact') return `${x}.value_exact = ${w.p(unescape(value))} AND ${x}.value_norm = ${w.p(norm)}`;
      if (modifier === 'contains') return `${x}.value_norm LIKE ${w.p('%' + norm.replace(/[\\%_]/g, '\\$&') + '%')}`;
      return `${x}.value_norm >= ${w.p(norm)} AND ${x}.value_norm < ${w.p(prefixUpperBound(norm))}`;
    }
    case 'token':
      return tokenSql(w, modifier, x, value, def.implicitSystem);
    case 'date': {
      const { prefix, rest } = splitPrefix(value);
      return ruleSql(w, DATE_RULES[prefix], { low: `${x}.low`, high: `${x}.high` }, dateBounds(dateRange(rest)!, w.now), 'timestamptz');
    }
    case 'number': {
      const { prefix, rest } = splitPrefix(value);
      return ruleSql(w, NUMBER_RULES[prefix], { low: `${x}.low`, high: `${x}.high` }, numberBounds(parseSearchNumber(rest)!), 'numeric');
    }
    case 'quantity':
      return quantitySql(w, x, value);
    case 'reference':
      return referenceSql(w, def, modifier, x, value);
    case 'uri':
      return uriSql(w, modifier, x, unescape(value));
    default:
      return 'false';
  }
}

function tokenSql(w: SqlWriter, modifier: string | undefined, x: string, value: string, implicit?: string): string {
  if (modifier === 'in') {
    let expansion = w.valueSets.get(value) ?? [];
    // Values of a bound code carry the implied system, so only the expansion's codes of that system apply; rows store it as null.
    if (implicit) expansion = expansion.filter((c) => c.system === implicit || c.system === null).map((c) => ({ ...c, system: null }));
    if (!expansion.length) return 'false';
    const systems = new Map<string | null, string[]>();
    for (const { system, code } of expansion) systems.set(system, [...(systems.get(system) ?? []), code]);
    return [...systems]
      .map(([system, codes]) => `${x}.code = ANY(${w.p(codes)}::text[]) AND ${system === null ? `${x}.system IS NULL` : `${x}.system = ${w.p(system)}`}`)
      .map((s) => `(${s})`)
      .join(' OR ');
  }
  if (modifier === 'of-type') {
    const [system, code, identifier] = splitEscaped(value, '|').map(unescape);
    return `${x}.system = ${w.p(system)} AND ${x}.code = ${w.p(`${code}|${identifier}`)}`;
  }
  const token = tokenCriterion(value, implicit);
  if (!token) return 'false';
  const parts: string[] = [];
  if (token.code !== undefined) parts.push(`${x}.code = ${w.p(token.code)}`);
  if (token.system === null) parts.push(`${x}.system IS NULL`);
  else if (token.system !== undefined) parts.push(`${x}.system = ${w.p(token.system)}`);
  return parts.join(' AND ') || 'true';
}

function quantitySql(w: SqlWriter, x: string, value: string): string {
  const [number, system, code] = splitEscaped(value, '|').map(unescape);
  const { prefix, rest } = splitPrefix(number);
  const parts = [ruleSql(w, NUMBER_RULES[prefix], { low: `${x}.low`, high: `${x}.high` }, numberBounds(parseSearchNumber(rest)!), 'numeric')];
  // number|system|code matches system and code; number||code matches the code or the written unit (https://hl7.org/fhir/R4/search.html#quantity).
  if (system) parts.push(`${x}.system = ${w.p(system)}`);
  if (code) parts.push(system ? `${x}.code = ${w.p(code)}` : `(${x}.code = ${w.p(code)} OR ${x}.unit = ${w.p(code)})`);
  return parts.join(' AND ');
}

const RELATIVE_REF = /^([A-Z][A-Za-z]+)\/([A-Za-z0-9\-.]{1,64})(?:\/_history\/[^/]+)?$/;
const BARE_ID = /^[A-Za-z0-9\-.]{1,64}$/;

/** Parses a reference search value as the SQL and the matcher both read it. */
export function parseReferenceValue(baseUrl: string, modifier: string | undefined, raw: string): { type?: string; id?: string; url?: string; none?: boolean } {
  let value = unescape(raw);
  if (baseUrl && value.startsWith(baseUrl + '/')) value = value.slice(baseUrl.length + 1);
  const typed = modifier && modifier !== 'identifier' ? modifier : undefined;
  const m = RELATIVE_REF.exec(value);
  if (m) return typed && typed !== m[1] ? { none: true } : { type: m[1], id: m[2] };
  if (BARE_ID.test(value)) return { ...(typed ? { type: typed } : {}), id: value };
  return { url: value };
}

function referenceSql(w: SqlWriter, def: SearchParamDef, modifier: string | undefined, x: string, value: string): string {
  if (modifier === 'identifier') return tokenSql(w, undefined, x, value);
  const ref = parseReferenceValue(w.baseUrl, modifier, value);
  if (ref.none) return 'false';
  if (ref.url !== undefined) return `${x}.url = ${w.p(ref.url)}`;
  const parts = [`${x}.target_id = ${w.p(ref.id)}`];
  if (ref.type) parts.push(`${x}.target_type = ${w.p(ref.type)}`);
  else if (def.targets.length === 1) parts.push(`${x}.target_type = ${w.p(def.targets[0])}`);
  return parts.join(' AND ');
}

/** The URIs a search value is below: itself and every parent path (https://hl7.org/fhir/R4/search.html#uri). */
export function uriAncestors(value: string): string[] {
  const result = [value];
  const start = value.indexOf('//') >= 0 ? value.indexOf('//') + 2 : 0;
  for (let i = value.length - 1; i > start; i--) if (value[i] === '/') result.push(value.slice(0, i));
  return result;
}

function uriSql(w: SqlWriter, modifier: string | undefined, x: string, value: string): string {
  if (modifier === 'below') return `${x}.value >= ${w.p(value)} AND ${x}.value < ${w.p(prefixUpperBound(value))}`;
  if (modifier === 'above') return `${x}.value = ANY(${w.p(uriAncestors(value))}::text[])`;
  return `${x}.value = ${w.p(value)}`;
}

/** All components must match on the same element: rows of one composite element share `grp`. */
function compositeSql(w: SqlWriter, def: SearchParamDef, values: string[], r: string, resourceType: string): string {
  const components = def.components!;
  const aliases = components.map(() => w.alias('c'));
  const from = components
    .map((c, i) => {
      const table = TABLES[c.def.type as keyof typeof TABLES];
      if (i === 0) return `${table} ${aliases[0]}`;
      const a = aliases[i];
      return `JOIN ${table} ${a} ON ${a}.resource_type = ${aliases[0]}.resource_type AND ${a}.id = ${aliases[0]}.id AND ${a}.grp = ${aliases[0]}.grp AND ${a}.param = ${w.p(`${def.code}#${i}`)}`;
    })
    .join(' ');
  const any = values
    .map((value) => {
      const parts = splitEscaped(value, '$');
      return components.map((c, i) => `(${valueSql(w, c.def.type, c.def, undefined, aliases[i], parts[i])})`).join(' AND ');
    })
    .map((s) => `(${s})`)
    .join(' OR ');
  const c0 = aliases[0];
  return `${r}.id IN (SELECT ${c0}.id FROM ${from} WHERE ${c0}.resource_type = ${w.p(resourceType)} AND ${c0}.param = ${w.p(`${def.code}#0`)} AND (${any}))`;
}

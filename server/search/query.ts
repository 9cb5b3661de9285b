import type { Queryable } from '../store/db.js';
import { filterSql } from './conditions.js';
import { SqlWriter } from './sql-writer.js';
import type { Controls, Cursor } from './controls.js';
import type { RowFilter } from './row-filter.js';
import type { Filter } from './parse.js';
import { ParamError } from './parse.js';
import type { SearchRegistry } from './registry.js';

/** What to search: per resource type, the filters that apply (AND), plus an optional compartment. */
export interface SearchPlan {
  branches: { type: string; filters: Filter[] }[];
  compartment?: { resourceType: string; id: string };
  /** The client's access policy: only resources it may read match, at every level of the query. */
  access?: RowFilter;
}

export interface Row {
  resource_type: string;
  id: string;
  content: string;
  [key: `k${number}`]: unknown;
}

type Cast = 'text' | 'timestamptz' | 'numeric';

interface SortColumn {
  expr: (w: SqlWriter, r: string, type: string) => string;
  cast: Cast;
  desc: boolean;
}

/** Builds and runs the SQL for a search: the WHERE clause per type, the keyset-paged page and the count. */
export class SearchQuery {
  constructor(
    private readonly registry: SearchRegistry,
    private readonly plan: SearchPlan,
    private readonly valueSets: Map<string, { system: string | null; code: string }[]>,
    private readonly baseUrl: string,
  ) {}

  private writer(): SqlWriter {
    const w = new SqlWriter(this.baseUrl, this.valueSets);
    const access = this.plan.access;
    if (access) w.access = (aw, r, type) => access.condition(aw, r, type, 'r');
    return w;
  }

  /** Conditions a resource aliased r of one branch must meet. */
  private where(w: SqlWriter, r: string, type: string, filters: Filter[]): string {
    const parts = [`${r}.resource_type = ${w.p(type)}`, `NOT ${r}.deleted`, ...filters.map((f) => filterSql(w, f, r, type))];
    // Matches need the search permission; what chains and _has reach (w.access) needs read.
    if (this.plan.access) parts.push(this.plan.access.condition(w, r, type, 's', filters.some((f) => identifiesFew(f) || namesResources(f))));
    const c = this.plan.compartment;
    if (c) {
      const params = this.registry.patientCompartment.get(type) ?? [];
      const x = w.alias('cmp');
      const members = `SELECT ${x}.id FROM search_reference ${x} WHERE ${x}.resource_type = ${w.p(type)} AND ${x}.param = ANY(${w.p(params)}::text[]) AND ${x}.target_type = ${w.p(c.resourceType)} AND ${x}.target_id = ${w.p(c.id)}`;
      // The patient is in its own compartment (https://hl7.org/fhir/R4/compartmentdefinition-patient.html).
      parts.push(`${r}.id IN (${members}${type === c.resourceType ? ` UNION ALL SELECT ${w.p(c.id)}::text` : ''})`);
    }
    return parts.join('\n  AND ');
  }

  private sortColumns(controls: Controls, reverse: boolean): SortColumn[] {
    return controls.sort.map(({ code, desc }) => {
      const d = desc !== reverse;
      if (code === '_id') return { expr: (_w, r) => `${r}.id`, cast: 'text', desc: d };
      if (code === '_lastUpdated') return { expr: (_w, r) => `${r}.last_updated`, cast: 'timestamptz', desc: d };
      const sample = this.registry.get(this.plan.branches[0].type, code)!;
      const agg = desc ? 'max' : 'min';
      const [table, column, cast]: [string, string, Cast] = {
        string: ['search_string', 'value_norm', 'text'],
        token: ['search_token', 'code', 'text'],
        uri: ['search_uri', 'value', 'text'],
        reference: ['search_reference', "coalesce(s.target_type || '/' || s.target_id, s.url)", 'text'],
        date: ['search_date', desc ? 'high' : 'low', 'timestamptz'],
        number: ['search_number', desc ? 'high' : 'low', 'numeric'],
        quantity: ['search_quantity', desc ? 'high' : 'low', 'numeric'],
      }[sample.type as 'string'] as [string, string, Cast];
      const col = column.includes('(') ? column : `s.${column}`;
      // Several values: ascending sorts by the lowest, descending by the highest (https://hl7.org/fhir/R4/search.html#sort).
      return {
        expr: (w, r, type) => `(SELECT ${agg}(${col}) FROM ${table} s WHERE s.resource_type = ${w.p(type)} AND s.id = ${r}.id AND s.param = ${w.p(code)})`,
        cast,
        desc: d,
      };
    });
  }

  /** One page: `count + 1` rows after (or before) the cursor so we know whether another page exists. */
  async page(sql: Queryable, controls: Controls): Promise<{ rows: Row[]; more: boolean }> {
    const cursor = controls.cursor;
    if (cursor && cursor.keys.length !== controls.sort.length) throw new ParamError('_cursor', 'The paging cursor does not belong to this _sort');
    const reverse = cursor?.dir === 'prev';
    const columns = this.sortColumns(controls, reverse);
    const w = this.writer();
    const limit = controls.count + 1;
    const order = (b: string): string => [...columns.map((c, i) => `${b}.k${i}${c.desc ? ' DESC' : ''}`), `${b}.resource_type${reverse ? ' DESC' : ''}`, `${b}.id${reverse ? ' DESC' : ''}`].join(', ');
    const branches = this.plan.branches.map(({ type, filters }) => {
      const keys = columns.map((c, i) => `${c.expr(w, 'r', type)} AS k${i}`);
      const inner = `SELECT r.resource_type, r.id, r.content${keys.map((k) => `, ${k}`).join('')} FROM resources r WHERE ${this.where(w, 'r', type, filters)}`;
      const after = cursor ? `WHERE ${keyset(w, columns, cursor, type, reverse)}` : '';
      return `SELECT * FROM (${inner}) b ${after} ORDER BY ${order('b')} LIMIT ${limit}`;
    });
    const text = branches.length === 1 ? branches[0] : `SELECT * FROM (${branches.map((b) => `(${b})`).join(' UNION ALL ')}) u ORDER BY ${order('u')} LIMIT ${limit}`;
    const rows = await sql.query<Row>(text, w.values, { prepared: plannedOnce(this.plan.branches) });
    const more = rows.length > controls.count;
    const pageRows = rows.slice(0, controls.count);
    return { rows: reverse ? pageRows.reverse() : pageRows, more };
  }

  /** _total=accurate counts; estimate asks the planner. */
  async total(sql: Queryable, mode: 'estimate' | 'accurate'): Promise<number> {
    let sum = 0;
    for (const { type, filters } of this.plan.branches) {
      const w = this.writer();
      const text = `SELECT count(*) AS n FROM resources r WHERE ${this.where(w, 'r', type, filters)}`;
      if (mode === 'accurate') {
        sum += Number((await sql.query<{ n: number }>(text, w.values))[0].n);
      } else {
        const plan = await sql.query<{ 'QUERY PLAN': unknown }>(`EXPLAIN (FORMAT JSON) ${text.replace('count(*) AS n', 'r.id')}`, w.values);
        const json = plan[0]['QUERY PLAN'];
        const parsed = (typeof json === 'string' ? JSON.parse(json) : json) as { Plan: { 'Plan Rows': number } }[];
        sum += parsed[0].Plan['Plan Rows'];
      }
    }
    return sum;
  }

  /** Ids of matches, for conditional interactions. */
  async ids(sql: Queryable, limit: number): Promise<string[]> {
    const { type, filters } = this.plan.branches[0];
    const w = this.writer();
    const rows = await sql.query<{ id: string }>(`SELECT r.id FROM resources r WHERE ${this.where(w, 'r', type, filters)} LIMIT ${Math.max(0, Math.floor(limit))}`, w.values);
    return rows.map((r) => r.id);
  }
}

/**
 * Parameters whose every value names one resource or next to none (an NHS number, an id).
 * https://hl7.org/fhir/R4/search.html#token: `system|` alone matches every identifier of the system,
 * so a value must carry its code.
 */
const IDENTIFYING = new Set(['_id', 'identifier']);

function identifiesFew(filter: Filter): boolean {
  return filter.kind === 'param' && !filter.modifier && filter.def.type === 'token' && IDENTIFYING.has(filter.def.code) && filter.values.every((v) => v !== '' && !v.endsWith('|'));
}

/** A reference parameter whose every value names a resource (`subject=Patient/1`): that resource's rows, a patient's record at most. */
function namesResources(filter: Filter): boolean {
  return filter.kind === 'param' && filter.def.type === 'reference' && (!filter.modifier || /^[A-Z]/.test(filter.modifier)) && filter.values.every((v) => v !== '' && !v.endsWith('/'));
}

/**
 * A branch that finds a resource by identifier or id finds next to nothing whatever the value, so
 * one plan serves every value: its page query is kept prepared, parsed and planned once per
 * connection (planning had cost PostgreSQL three times running it). Any other search keeps a plan
 * made for its values: with skewed data (a practice with half the patients, a prefix shared by
 * thousands) one plan for all values picked the wrong join, 20 ms where 0.1 ms was possible.
 */
function plannedOnce(branches: SearchPlan['branches']): boolean {
  return branches.every(({ filters }) => filters.some(identifiesFew));
}

/**
 * Rows strictly after the cursor in the order (k0, k1, ..., resource_type, id). NULL keys sort last
 * ascending and first descending (PostgreSQL's defaults), so reversing every direction walks back exactly.
 */
function keyset(w: SqlWriter, columns: SortColumn[], cursor: Cursor, type: string, reverse: boolean): string {
  const step = (i: number): string => {
    if (i === columns.length) {
      if (type !== cursor.type) return (type > cursor.type) !== reverse ? 'true' : 'false';
      return `b.id ${reverse ? '<' : '>'} ${w.p(cursor.id)}`;
    }
    const { cast, desc } = columns[i];
    const k = `b.k${i}`;
    const c = cursor.keys[i];
    const value = (): string => `${w.p(c)}::${cast}`;
    const beyond = c === null ? (desc ? `${k} IS NOT NULL` : 'false') : desc ? `${k} < ${value()}` : `(${k} > ${value()} OR ${k} IS NULL)`;
    const same = c === null ? `${k} IS NULL` : `${k} = ${value()}`;
    return `(${beyond} OR (${same} AND ${step(i + 1)}))`;
  };
  return step(0);
}

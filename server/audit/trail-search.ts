import type { AuditEvent, Bundle, BundleLink, Coding, OperationOutcomeIssue } from '@medplum/fhirtypes';
import { ODS_SYSTEM } from '../auth/principal.js';
import { searchsetBundle } from '../search/bundle.js';
import { issue, outcome } from '../errors.js';
import { instantSql } from '../search/types/date.js';
import { FHIR_ID, idOf, parseLiteral } from '../fhir/reference.js';
import { SqlWriter } from '../search/sql-writer.js';
import { CURSOR_PARAM, applyControl, encodeCursor, isControl, type Controls } from '../search/controls.js';
import type { Found } from '../search/include.js';
import { ParamError, parseFilter, reportOrThrow, type Filter } from '../search/parse.js';
import { parseToken, tokenCriterion } from '../search/types/token.js';
import type { SearchRegistry } from '../search/registry.js';
import type { Compartment, SearchContext, SearchEngine } from '../search/search.js';
import { unescape } from '../search/values.js';
import { AUDIT_SUBTYPE_SYSTEM, CLIENT_SYSTEM, auditEventOf } from './audit-event.js';
import { AUDIT_INTERACTIONS } from './record.js';
import { AUDIT_COLUMNS, auditEventOfRow, type AuditRow } from './trail-row.js';

type Token = { system?: string | null; code?: string };

/** What the trail is searched by; the CapabilityStatement lists these for AuditEvent. */
export const AUDIT_SEARCH_PARAMETERS = ['_id', '_lastUpdated', 'date', 'patient', 'entity', 'agent', 'client', 'altid', 'subtype', 'type', 'action', 'outcome'];

/** type, subtype and action as audit-event.ts writes them, for each interaction with and without patients: what the token parameters match against. */
const SHAPES = AUDIT_INTERACTIONS.flatMap((interaction) =>
  [false, true].map((hasPatients) => ({ interaction, hasPatients, event: auditEventOf({ interaction, status: 200, resources: [], patients: hasPatients ? ['x'] : [] }, new Date(0)) })),
);
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * The search engine with AuditEvent searched in the audit trail's own table: a type or compartment
 * search of AuditEvent, or a system search whose _type names only it. A _type list that mixes it
 * with other types searches those, with a warning: the trail is searched on its own.
 */
export function withAuditTrailSearch(engine: SearchEngine, limits: { defaultCount: number; maxCount: number }): SearchEngine {
  // A Proxy forwards whatever the SearchEngine seam grows to hold; only search is wrapped.
  return new Proxy(engine, {
    get(target, prop) {
      if (prop !== 'search') {
        const value = Reflect.get(target, prop, target);
        return typeof value === 'function' ? value.bind(target) : value;
      }
      return async (ctx: SearchContext, resourceType: string | undefined, params: URLSearchParams, compartment?: Compartment): Promise<Bundle> => {
        if (resourceType === 'AuditEvent') return searchAuditTrail(target.registry, ctx, params, compartment, limits);
        const named = resourceType || compartment ? [] : params.getAll('_type').flatMap((v) => v.split(',')).map((t) => t.trim()).filter(Boolean);
        if (!named.includes('AuditEvent')) return target.search(ctx, resourceType, params, compartment);
        const others = named.filter((t) => t !== 'AuditEvent');
        const rest = new URLSearchParams([...params].filter(([name]) => name !== '_type'));
        if (!others.length) return searchAuditTrail(target.registry, ctx, rest, undefined, limits);
        rest.set('_type', others.join(','));
        const bundle = await target.search(ctx, undefined, rest, compartment);
        const warning = issue('not-supported', 'AuditEvent is searched on its own (GET /AuditEvent); it was left out of this search', '_type', 'warning');
        (bundle.entry ??= []).push({ resource: outcome(warning), search: { mode: 'outcome' } });
        return bundle;
      };
    },
  });
}

/**
 * AuditEvent search over the audit trail's own table (https://hl7.org/fhir/R4/auditevent.html#search):
 * date, patient, entity, agent (by identifier), client, altid, subtype, type, action, outcome, _id
 * and _lastUpdated; newest first unless `_sort=date`; keyset paging; _total, _summary, _elements.
 * Parameters are parsed as for every other type, so a bad value gets the same answer.
 */
export async function searchAuditTrail(
  registry: SearchRegistry,
  ctx: SearchContext,
  params: URLSearchParams,
  compartment: Compartment | undefined,
  limits: { defaultCount: number; maxCount: number },
): Promise<Bundle> {
  const issues: OperationOutcomeIssue[] = [];
  const controls: Controls = { count: Math.min(limits.defaultCount, limits.maxCount), sort: [], include: [], revinclude: [] };
  const w = new SqlWriter(ctx.baseUrl, new Map());
  const conditions: string[] = [];
  const accepted: [string, string][] = [];
  // Result parameters first: _cursor must be read against the final _sort.
  const ordered = [...params].sort(([a], [b]) => Number(a === CURSOR_PARAM) - Number(b === CURSOR_PARAM));
  for (const [name, value] of ordered) {
    try {
      if (isControl(name)) {
        applyControl(registry, controls, ['AuditEvent'], name, value, limits.maxCount);
        checkControls(name, controls);
      } else {
        conditions.push(conditionOf(w, parseFilter(registry, 'AuditEvent', name, value)));
      }
      if (name !== CURSOR_PARAM) accepted.push([name, value]);
    } catch (err) {
      reportOrThrow(err, ctx.strict, issues);
    }
  }
  if (compartment) conditions.push(`a.entities @> ARRAY[${w.p(`Patient/${compartment.id}`)}]::text[]`);
  // The client's access, judged on the row (the patients it names), as for any other type.
  const visible = ctx.access?.condition(w, 'a', 'AuditEvent', 's') ?? 'true';
  if (visible !== 'true') conditions.push(visible);

  const where = conditions.length ? `WHERE ${conditions.join(' AND ')}` : '';
  const countOnly = controls.summary === 'count';
  const cursor = controls.cursor;
  const backwards = cursor?.dir === 'prev';
  // Newest first unless asked otherwise; a page back walks the same order in reverse.
  const desc = (controls.sort[0]?.desc ?? true) !== backwards;
  let rows: AuditRow[] = [];
  let more = false;
  if (!countOnly) {
    const after = cursor ? `${where ? ' AND' : 'WHERE'} (a.recorded, a.id) ${desc ? '<' : '>'} (${w.p(new Date(cursor.keys[0] as string).toISOString())}::timestamptz, ${w.p(cursor.id)}::uuid)` : '';
    const found = await ctx.sql.query<AuditRow>(
      `SELECT ${AUDIT_COLUMNS.replace(/(\w+)/g, 'a.$1')} FROM audit_event a ${where}${after} ORDER BY a.recorded ${desc ? 'DESC' : ''}, a.id ${desc ? 'DESC' : ''} LIMIT ${controls.count + 1}`,
      w.values,
    );
    more = found.length > controls.count;
    rows = found.slice(0, controls.count);
    if (backwards) rows.reverse();
  }
  const mode = controls.total ?? 'accurate';
  let total: number | undefined;
  if (!countOnly && !cursor && !more) total = rows.length;
  else if (mode !== 'none' || countOnly) {
    const values = w.values.slice(0, countParams(where));
    total = (await ctx.sql.query<{ n: number }>(`SELECT count(*)::int AS n FROM audit_event a ${where}`, values))[0].n;
  }

  const path = compartment ? `${compartment.resourceType}/${compartment.id}/AuditEvent` : 'AuditEvent';
  const link = (rel: string, cursorValue?: string): BundleLink => {
    const qs = new URLSearchParams(accepted);
    if (cursorValue) qs.set(CURSOR_PARAM, cursorValue);
    return { relation: rel, url: `${ctx.baseUrl}/${path}?${qs}` };
  };
  const cursorAt = (row: AuditRow, dir: 'next' | 'prev'): string => encodeCursor({ dir, type: 'AuditEvent', id: row.id, keys: [new Date(row.recorded).toISOString()] });
  const links = [link('self', params.get(CURSOR_PARAM) && cursor ? params.get(CURSOR_PARAM)! : undefined), link('first')];
  if (rows.length && (backwards || more)) links.push(link('next', cursorAt(rows[rows.length - 1], 'next')));
  if (rows.length && cursor && (!backwards || more)) links.push(link('previous', cursorAt(rows[0], 'prev')));
  const matches: Found[] = rows.map((r) => ({ resource_type: 'AuditEvent', id: r.id, content: JSON.stringify(auditEventOfRow(r)) }));
  return searchsetBundle({ matches, included: [], issues, ...(total !== undefined ? { total } : {}), links, baseUrl: ctx.baseUrl, controls });
}

/** The parameters the WHERE clause uses: those bound before the cursor's. */
function countParams(where: string): number {
  return Math.max(0, ...[...where.matchAll(/\$(\d+)/g)].map((m) => Number(m[1])));
}

/** The trail is ordered by time: _sort by date (or _lastUpdated, the same instant), and nothing to include. */
function checkControls(name: string, controls: Controls): void {
  const base = name.split(':')[0];
  if (base === '_sort' && controls.sort.some((s) => s.code !== 'date' && s.code !== '_lastUpdated')) {
    controls.sort = [];
    throw new ParamError(name, 'The audit trail is sorted by date only');
  }
  if ((base === '_include' || base === '_revinclude') && (controls.include.length || controls.revinclude.length)) {
    controls.include = [];
    controls.revinclude = [];
    throw new ParamError(name, `${base} is not supported on AuditEvent`);
  }
  if (controls.cursor && (controls.cursor.type !== 'AuditEvent' || typeof controls.cursor.keys[0] !== 'string' || Number.isNaN(Date.parse(controls.cursor.keys[0])) || !UUID.test(controls.cursor.id))) {
    controls.cursor = undefined;
    throw new ParamError(name, 'Malformed paging cursor');
  }
}

/** The SQL condition of one parameter on the row aliased `a`; ParamError for what the trail cannot answer. */
function conditionOf(w: SqlWriter, filter: Filter): string {
  if (filter.kind !== 'param') throw new ParamError(filter.name, 'Chained and _has parameters are not supported on AuditEvent');
  const { def, modifier, values } = filter;
  const typeModifier = def.type === 'reference' && modifier !== undefined && modifier !== 'identifier' && modifier !== 'missing';
  if (modifier !== undefined && !typeModifier && !(def.code === 'agent' && modifier === 'identifier')) {
    throw new ParamError(filter.name, `Modifier ':${modifier}' is not supported on AuditEvent '${def.code}'`);
  }
  const any = (parts: string[]): string => (parts.length ? parts.map((p) => `(${p})`).join(' OR ') : 'false');
  switch (def.code) {
    case '_id':
      return `a.id::text = ANY(${w.p(values.map(unescape))}::text[])`;
    case 'date':
    case '_lastUpdated':
      return instantSql(w, 'a.recorded', values);
    case 'patient': {
      if (typeModifier && modifier !== 'Patient') return 'false';
      const ids = values.map((v) => idOf(v, 'Patient') ?? (FHIR_ID.test(v) ? v : undefined)).filter((v): v is string => !!v);
      return ids.length ? `a.entities && ${w.p(ids.map((id) => `Patient/${id}`))}::text[]` : 'false';
    }
    case 'entity':
      return any(values.map((v) => entitySql(w, typeModifier ? modifier : undefined, v)));
    case 'agent':
      // Agents are named by identifier (client id, ODS code), never by reference: a bare id is the
      // client's, the one agent a client's own id names; `Type/id` names no agent.
      if (modifier === 'identifier') return any(values.map((v) => agentIdentifierSql(w, parseToken(v))));
      if (typeModifier) return 'false';
      return any(values.filter((v) => FHIR_ID.test(v)).map((v) => `a.client = ${w.p(v)}`));
    case 'client':
      return any(values.map((v) => identifierSql(w, parseToken(v), CLIENT_SYSTEM, 'a.client')));
    case 'altid':
      return any(values.map((v) => altIdSql(w, parseToken(v))));
    case 'type':
      return shapeSql(w, values, (e, t) => matches(e.type, t), true);
    case 'subtype':
      return any([shapeSql(w, values, (e, t) => (e.subtype ?? []).some((c) => matches(c, t)), false), ...values.map((v) => operationSql(w, parseToken(v)))].filter((s) => s !== 'false'));
    case 'action':
      return shapeSql(w, values, (e, t) => matches({ code: e.action }, t), false, def.implicitSystem);
    case 'outcome':
      return any(values.map((v) => outcomeSql(tokenCriterion(v, def.implicitSystem))));
    default:
      throw new ParamError(filter.name, `Search parameter '${def.code}' is not supported on AuditEvent`);
  }
}

function matches(coding: Coding | undefined, t: Token): boolean {
  if (!coding) return false;
  if (t.code !== undefined && coding.code !== t.code) return false;
  if (t.system === null) return !coding.system;
  return t.system === undefined || coding.system === t.system;
}

/** A token parameter over what the interaction (and whether patients were touched) determines. */
function shapeSql(w: SqlWriter, values: string[], test: (e: AuditEvent, t: Token) => boolean, byPatients: boolean, implicit?: string): string {
  const tokens = values.map((v) => tokenCriterion(v, implicit)).filter((t): t is Token => !!t);
  const hits = SHAPES.filter((s) => tokens.some((t) => test(s.event, t)));
  if (!hits.length) return 'false';
  if (!byPatients) return `a.interaction = ANY(${w.p([...new Set(hits.map((s) => s.interaction))])}::text[])`;
  return `(a.interaction || ':' || (cardinality(a.patients) > 0)::text) = ANY(${w.p(hits.map((s) => `${s.interaction}:${s.hasPatients}`))}::text[])`;
}

/** Our subtype for an operation: the system of audit-event.ts, the operation's name as code. */
function operationSql(w: SqlWriter, t: Token): string {
  if (t.system !== undefined && t.system !== AUDIT_SUBTYPE_SYSTEM) return 'false';
  if (t.code === undefined) return t.system === AUDIT_SUBTYPE_SYSTEM ? 'a.operation IS NOT NULL' : 'false';
  // FHIR operations are `$name`; others (CDS Hooks calls) are found with the system named.
  return t.code.startsWith('$') || t.system === AUDIT_SUBTYPE_SYSTEM ? `a.operation = ${w.p(t.code)}` : 'false';
}

/** 0 success (2xx, 3xx), 4 the caller's failure (4xx), 8 ours or the receiver's (anything else). */
function outcomeSql(t: Token | undefined): string {
  if (!t) return 'false';
  if (t.code === undefined) return 'true';
  if (t.code === '0') return 'a.status BETWEEN 200 AND 399';
  if (t.code === '4') return 'a.status BETWEEN 400 AND 499';
  if (t.code === '8') return 'NOT (a.status BETWEEN 200 AND 499)';
  return 'false';
}

function entitySql(w: SqlWriter, type: string | undefined, value: string): string {
  const literal = parseLiteral(value);
  const ref = literal ? `${literal.resourceType}/${literal.id}` : type && FHIR_ID.test(value) ? `${type}/${value}` : undefined;
  if (ref) return `a.entities && ${w.p([ref])}::text[]`;
  if (!FHIR_ID.test(value)) return 'false';
  // A bare id: whatever type has it.
  return `EXISTS (SELECT 1 FROM unnest(a.entities) e WHERE split_part(e, '/', 2) = ${w.p(value)})`;
}

/** An identifier in one system: `code`, `system|code`, `system|`; `|code` (no system) matches none. */
function identifierSql(w: SqlWriter, t: Token, system: string, column: string): string {
  if (t.system === null || (t.system !== undefined && t.system !== system)) return 'false';
  return t.code === undefined ? `${column} IS NOT NULL` : `${column} = ${w.p(t.code)}`;
}

function agentIdentifierSql(w: SqlWriter, t: Token): string {
  return [identifierSql(w, t, CLIENT_SYSTEM, 'a.client'), identifierSql(w, t, ODS_SYSTEM, 'a.org')].filter((s) => s !== 'false').join(' OR ') || 'false';
}

/** agent.altId is the client id, a plain string: `code` or `|code`. */
function altIdSql(w: SqlWriter, t: Token): string {
  if (t.system !== undefined && t.system !== null) return 'false';
  return t.code === undefined ? 'a.client IS NOT NULL' : `a.client = ${w.p(t.code)}`;
}


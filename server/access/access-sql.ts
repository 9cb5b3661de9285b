import { filterSql } from '../search/conditions.js';
import { SqlWriter } from '../search/sql-writer.js';
import { type Filter, ParamError, parseFilter } from '../search/parse.js';
import type { SearchRegistry } from '../search/registry.js';
import type { RowFilter } from '../search/row-filter.js';
import type { Queryable } from '../store/db.js';
import type { AccessCondition, AccessPolicy, AccessRule } from './policy.js';
import type { Permission } from './scopes.js';

/** How long a resolution of a policy's sets is reused at most, whatever the change log says. */
const RESOLUTION_MAX_AGE_MS = 5_000;

/** Longest id list written into a query as a constant (see memberOf). */
const CONSTANT_LIST_MAX = 100;

/**
 * AuditEvents are rows of the audit trail (`audit_event`, migration 050), not resources: a rule
 * reaches one through the patients it names (its `patients` column), as the Patient compartment
 * did when they were resources.
 */
export const AUDIT_EVENT = 'AuditEvent';

/** Values the policy's placeholders stand for. */
export interface AccessVars {
  /** `{org}`: the client's ODS code. */
  org: string;
  /** `{client}`: the client id. */
  client: string;
}

/**
 * One policy compiled for one client: SQL conditions saying which resources it may use for each
 * permission. Search (as its RowFilter), history and writes all ask it, so they cannot disagree.
 * The only place access SQL is written.
 */
export interface AccessSql extends RowFilter {
  /** Does any rule give this permission on this type (before looking at any resource)? */
  grants(type: string, permission: Permission): boolean;
  /** Does a rule give this permission on every resource of the type (no filter at all)? */
  unrestricted(type: string, permission: Permission): boolean;
  /**
   * A SQL boolean: may the resource aliased `r`, of `type`, be used for `permission`? For AuditEvent `r` is an audit_event row.
   * `fewRows`: `r` is a few rows named by id, so each is probed through the indexes (see `among`).
   */
  condition(w: SqlWriter, r: string, type: string, permission: Permission, fewRows?: boolean): string;
  /** The same when `r.resource_type` is only known when the query runs (system and type history). */
  anyType(w: SqlWriter, r: string, permission: Permission): string;
  /**
   * Resolves the sets the policy marks `materialize` (small, like the client's organisation and its
   * staff) to their ids, once: the conditions then name them as lists instead of repeating subqueries.
   */
  prepare(sql: Queryable): Promise<AccessSql>;
}

/** Compiles a policy for a client; unknown parameters or types in the policy throw (checked at start). */
export function compileAccess(registry: SearchRegistry, policy: AccessPolicy, vars: AccessVars): AccessSql {
  return new CompiledAccess(registry, policy, vars);
}

type Where = { type: string; filters: Filter[] };

class CompiledAccess implements AccessSql {
  constructor(
    private readonly registry: SearchRegistry,
    private readonly policy: AccessPolicy,
    private readonly vars: AccessVars,
    /** The materialized sets, once prepared. */
    private readonly materialized?: ReadonlyMap<string, Resolved>,
    /** Parsed `where` criteria, per condition object and type. */
    private readonly parsed = new Map<AccessCondition, Map<string, Filter[]>>(),
  ) {
    if (materialized) return;
    for (const set of Object.values(policy.sets)) for (const c of set.match) this.parse(c, set.type);
    for (const rule of policy.rules) for (const c of rule.match ?? []) for (const t of this.typesOf(rule)) this.parse(c, t);
    for (const rule of policy.rules) {
      const reachesAudit = rule.types.includes(AUDIT_EVENT) || (rule.types.includes('*') && !isUnrestricted(rule));
      if (reachesAudit && (rule.match?.length || rule.inSet)) {
        throw new Error(`Access policy ${policy.kind}: AuditEvents are judged only by the patients they name; a rule reaching them may be unrestricted or compartmentOf, without match or inSet`);
      }
    }
  }

  async prepare(sql: Queryable): Promise<AccessSql> {
    // The policy never changes: which sets it reaches is worked out once, not on every request.
    this.reached ??= [...this.setsInUse()];
    const inUse = this.reached;
    const names = inUse.filter((n) => this.policy.sets[n].materialize);
    if (!names.length) return this;
    // The sets change only when resources of their types do: the newest change-log entry of each type
    // (an index probe) tells whether the last resolution still holds. A change committed out of
    // sequence order could go unseen, so a resolution is also kept for a few seconds at most.
    const types = [...new Set(inUse.map((n) => this.policy.sets[n].type))];
    const sw = new SqlWriter('', new Map());
    const stampSql = `SELECT concat_ws(',', ${types.map((t) => `(SELECT max(seq) FROM change_log WHERE resource_type = ${sw.p(t)})`).join(', ')}) AS stamp`;
    const stamp = await this.stampOf(sql, stampSql, sw.values);
    const last = this.resolved;
    if (last && last.stamp === stamp && Date.now() - last.at < RESOLUTION_MAX_AGE_MS) return last.access;
    // The requests that find the same new stamp share one resolution: after a change to the sets'
    // types, each of a client's requests under way used to resolve them again, all at once.
    if (this.resolving?.stamp === stamp && this.resolving.sql === sql) return this.resolving.access;
    const access = this.resolve(sql, names).then((resolved) => {
      this.resolved = { stamp, at: Date.now(), access: resolved };
      return resolved;
    });
    this.resolving = { sql, stamp, access };
    return access.finally(() => {
      if (this.resolving?.access === access) this.resolving = undefined;
    });
  }

  /** The resolution under way, the stamp it was asked for, and the connection it runs on. */
  private resolving?: { sql: Queryable; stamp: string; access: Promise<CompiledAccess> };

  /** The materialized sets' members, now: one statement for them all. */
  private async resolve(sql: Queryable, names: string[]): Promise<CompiledAccess> {
    const ids = new Map<string, string[]>(names.map((n) => [n, []]));
    const w = new SqlWriter('', new Map());
    const union = names.map((n) => `SELECT ${w.p(n)}::text AS set, id FROM (${this.members(w, n)}) s`).join(' UNION ALL ');
    // Prepared: the text never changes for the client, and planning it (30 ms for a GP practice's) cost more than running it.
    for (const row of await sql.query<{ set: string; id: string }>(union, w.values, { prepared: true })) ids.get(row.set)!.push(row.id);
    const sets = new Map([...ids].map(([name, list]) => [name, { size: list.length, literal: arrayLiteral(list) }]));
    return new CompiledAccess(this.registry, this.policy, this.vars, sets, this.parsed);
  }

  /** The question of the requests of this turn of the event loop, and the connection it goes on. */
  private asking?: { sql: Queryable; stamp: Promise<string> };

  /**
   * The change-log position of the sets' types. Every request of a client with sets asks it, so the
   * requests of one turn of the event loop share one question, sent at the turn's end: after each
   * of them began, so each still sees every change committed before it. Prepared: planned once per
   * connection.
   */
  private stampOf(sql: Queryable, text: string, values: unknown[]): Promise<string> {
    if (this.asking?.sql === sql) return this.asking.stamp;
    const stamp: Promise<string> = new Promise<void>((resolve) => setImmediate(resolve)).then(async () => {
      // Asked now: a request arriving from here on asks again.
      if (this.asking?.stamp === stamp) this.asking = undefined;
      const [row] = await sql.query<{ stamp: string }>(text, values, { prepared: true });
      return row.stamp;
    });
    this.asking = { sql, stamp };
    return stamp;
  }

  /** The last resolution of the materialized sets, and the change-log position it was made at. */
  private resolved?: { stamp: string; at: number; access: CompiledAccess };

  /** The sets the rules reach (setsInUse), once asked. */
  private reached?: string[];

  /** The sets the rules reach, directly or through other sets (an administrator's reach none). */
  private setsInUse(): Set<string> {
    const used = new Set<string>();
    const visit = (name: string): void => {
      if (used.has(name)) return;
      used.add(name);
      this.policy.sets[name].match.forEach(visitCondition);
    };
    const visitCondition = (c: AccessCondition): void => {
      c.refersTo?.sets.forEach(visit);
      if (c.referencedBy) visit(c.referencedBy.set);
    };
    for (const rule of this.policy.rules) {
      rule.match?.forEach(visitCondition);
      if (rule.inSet) visit(rule.inSet);
      if (rule.compartmentOf) visit(rule.compartmentOf);
    }
    return used;
  }

  grants(type: string, permission: Permission): boolean {
    return this.rulesFor(type, permission).length > 0;
  }

  unrestricted(type: string, permission: Permission): boolean {
    return this.rulesFor(type, permission).some(isUnrestricted);
  }

  condition(w: SqlWriter, r: string, type: string, permission: Permission, fewRows = false): string {
    const rules = this.rulesFor(type, permission);
    if (!rules.length) return 'false';
    // Decided before writing any SQL: parts written and then dropped would leave unused bind parameters.
    if (rules.some(isUnrestricted)) return 'true';
    if (type === AUDIT_EVENT) return this.unfiltered(w, () => or(rules.map((rule) => (rule.compartmentOf ? this.namesMemberOf(w, `${r}.patients`, rule.compartmentOf) : 'false'))));
    this.probing = fewRows;
    try {
      return this.unfiltered(w, () => or(rules.map((rule) => this.ruleSql(w, r, type, rule))));
    } finally {
      this.probing = false;
    }
  }

  /** Whether the SQL being written checks a few rows named by id (condition's `fewRows`). */
  private probing = false;

  /**
   * `id` is among the `column` values of the rows `from … WHERE where` selects. Over a search's rows
   * an IN subquery is hashed whole once (the policy's ORs keep PostgreSQL from joining it), which is
   * the cheap way to judge thousands of rows. Over a few rows named by id that hash is most of the
   * cost (every reference to every member): a correlated EXISTS probes an index per row instead.
   */
  private among(id: string, column: string, from: string, where: string): string {
    return this.probing ? `EXISTS (SELECT 1 FROM ${from} WHERE ${where} AND ${column} = ${id})` : `${id} IN (SELECT ${column} FROM ${from} WHERE ${where})`;
  }

  anyType(w: SqlWriter, r: string, permission: Permission): string {
    if (this.policy.rules.some((rule) => rule.interactions.includes(permission) && rule.types.includes('*') && isUnrestricted(rule))) return 'true';
    return this.unfiltered(w, () =>
      or(
        this.policy.rules
          .filter((rule) => rule.interactions.includes(permission))
          .flatMap((rule) => {
            if (isUnrestricted(rule)) return [rule.types.includes('*') ? 'true' : `${r}.resource_type = ANY(${w.p(rule.types)}::text[])`];
            if (rule.types.includes('*') && rule.compartmentOf) return [this.anyCompartmentSql(w, r, rule.compartmentOf)];
            return this.typesOf(rule).map((t) => `(${r}.resource_type = ${w.p(t)} AND ${this.ruleSql(w, r, t, rule)})`);
          }),
      ),
    );
  }

  private rulesFor(type: string, permission: Permission): AccessRule[] {
    return this.policy.rules.filter((rule) => rule.interactions.includes(permission) && (rule.types.includes(type) || rule.types.includes('*')) && (!rule.types.includes('*') || !rule.compartmentOf || this.inCompartment(type)));
  }

  private inCompartment(type: string): boolean {
    return type === 'Patient' || this.registry.patientCompartment.has(type);
  }

  private typesOf(rule: AccessRule): string[] {
    return rule.types.includes('*') ? [] : rule.types;
  }

  /** The policy's own criteria see every resource: visibility filtering applies to what the client asked, not to the policy. */
  private unfiltered(w: SqlWriter, fn: () => string): string {
    const saved = w.access;
    w.access = undefined;
    try {
      return fn();
    } finally {
      w.access = saved;
    }
  }

  private ruleSql(w: SqlWriter, r: string, type: string, rule: AccessRule): string {
    if (isUnrestricted(rule)) return 'true';
    const parts: string[] = [];
    for (const c of rule.match ?? []) parts.push(this.conditionSql(w, r, type, c));
    if (rule.inSet) parts.push(this.memberOf(w, `${r}.id`, rule.inSet));
    if (rule.compartmentOf) parts.push(this.compartmentSql(w, r, type, rule.compartmentOf));
    return or(parts);
  }

  /** In the Patient compartment of a member of the set: the patient itself, or a resource whose compartment reference points at one. */
  private compartmentSql(w: SqlWriter, r: string, type: string, set: string): string {
    if (type === 'Patient') return this.memberOf(w, `${r}.id`, set);
    const params = this.registry.patientCompartment.get(type);
    if (!params?.length) return 'false';
    const c = w.alias('pc');
    return this.among(`${r}.id`, `${c}.id`, `search_reference ${c}`, `${c}.resource_type = ${w.p(type)} AND ${c}.param = ANY(${w.p(params)}::text[]) AND ${c}.target_type = 'Patient' AND ${this.memberOf(w, `${c}.target_id`, set)}`);
  }

  /** compartmentSql for a row whose type is known only at run time: any compartment parameter of any type. */
  private anyCompartmentSql(w: SqlWriter, r: string, set: string): string {
    const params = [...new Set([...this.registry.patientCompartment.values()].flat())];
    const c = w.alias('pc');
    return `((${r}.resource_type = 'Patient' AND ${this.memberOf(w, `${r}.id`, set)}) OR ${r}.id IN (SELECT ${c}.id FROM search_reference ${c} WHERE ${c}.resource_type = ${r}.resource_type AND ${c}.param = ANY(${w.p(params)}::text[]) AND ${c}.target_type = 'Patient' AND ${this.memberOf(w, `${c}.target_id`, set)}))`;
  }

  /** `expr` is the id of a member of the set: a literal list when the set was materialized for this request, else a subquery. */
  private memberOf(w: SqlWriter, expr: string, name: string): string {
    const set = this.materialized?.get(name);
    if (!set) return this.members(w, name, expr);
    if (set.size <= CONSTANT_LIST_MAX) return `${expr} = ANY(${w.p(set.literal)}::text[])`;
    // A long list is matched against the column as an expression: PostgreSQL still hashes the constant
    // list when it runs, but plans without estimating each id against the column's statistics (5 ms
    // of planning per query at 1,000 ids).
    return `(${expr} || '') = ANY(${w.p(set.literal)}::text[])`;
  }

  /** The id array `expr` names a member of the set: an audit row's patients. */
  private namesMemberOf(w: SqlWriter, expr: string, name: string): string {
    const set = this.materialized?.get(name);
    return set ? `${expr} && ${w.p(set.literal)}::text[]` : `${expr} && ARRAY(${this.members(w, name)})`;
  }

  /** Ids of the set's members; with `id`, whether that id is one. */
  private members(w: SqlWriter, name: string, id?: string): string {
    const set = this.policy.sets[name];
    const m = w.alias('m');
    const where = `${m}.resource_type = ${w.p(set.type)} AND NOT ${m}.deleted AND ${or(set.match.map((c) => this.conditionSql(w, m, set.type, c)))}`;
    return id ? this.among(id, `${m}.id`, `resources ${m}`, where) : `SELECT ${m}.id FROM resources ${m} WHERE ${where}`;
  }

  private conditionSql(w: SqlWriter, r: string, type: string, c: AccessCondition): string {
    const parts: string[] = [];
    if (c.where) parts.push(...this.parse(c, type).filters.map((f) => filterSql(w, f, r, type)));
    if (c.refersTo) {
      const { param, sets } = c.refersTo;
      const x = w.alias('ar');
      const targets = sets.map((s) => `(${x}.target_type = ${w.p(this.policy.sets[s].type)} AND ${this.memberOf(w, `${x}.target_id`, s)})`);
      const byIdentifier = sets
        .filter((s) => this.policy.sets[s].identifier)
        .map((s) => filterSql(w, this.filter(type, `${param}:identifier`, this.fill(this.policy.sets[s].identifier!)), r, type));
      parts.push(or([this.among(`${r}.id`, `${x}.id`, `search_reference ${x}`, `${x}.resource_type = ${w.p(type)} AND ${x}.param = ${w.p(param)} AND ${or(targets)}`), ...byIdentifier]));
    }
    if (c.referencedBy) {
      const { param, set } = c.referencedBy;
      const source = this.policy.sets[set].type;
      this.filter(source, param, ''); // checks the parameter exists
      const x = w.alias('ab');
      parts.push(this.among(`${r}.id`, `${x}.target_id`, `search_reference ${x}`, `${x}.resource_type = ${w.p(source)} AND ${x}.param = ${w.p(param)} AND ${x}.target_type = ${w.p(type)} AND ${this.memberOf(w, `${x}.id`, set)}`));
    }
    return parts.length === 1 ? parts[0] : `(${parts.join(' AND ')})`;
  }

  private parse(c: AccessCondition, type: string): Where {
    let byType = this.parsed.get(c);
    if (!byType) this.parsed.set(c, (byType = new Map()));
    let filters = byType.get(type);
    if (!filters) {
      filters = c.where ? [...new URLSearchParams(c.where)].map(([name, value]) => this.filter(type, name, this.fill(value))) : [];
      byType.set(type, filters);
    }
    if (c.refersTo) this.filter(type, c.refersTo.param, '');
    return { type, filters };
  }

  private filter(type: string, name: string, value: string): Filter {
    if (!this.registry.isResourceType(type)) throw new Error(`Access policy ${this.policy.kind}: unknown resource type '${type}'`);
    try {
      return parseFilter(this.registry, type, name, value === '' ? 'x' : value);
    } catch (err) {
      if (err instanceof ParamError) throw new Error(`Access policy ${this.policy.kind}: ${type}?${name}: ${err.message}`);
      throw err;
    }
  }

  private fill(value: string): string {
    return value.replaceAll('{org}', this.vars.org).replaceAll('{client}', this.vars.client);
  }
}

/**
 * A resolved set as a PostgreSQL array literal, written once per resolution: pg would otherwise
 * encode the id array again for every query that names the set (a few percent of a GP's search).
 */
interface Resolved {
  size: number;
  literal: string;
}

function arrayLiteral(ids: string[]): string {
  return `{${ids.map((id) => `"${id.replace(/["\\]/g, '\\$&')}"`).join(',')}}`;
}

function isUnrestricted(rule: AccessRule): boolean {
  return !rule.match?.length && !rule.inSet && !rule.compartmentOf;
}

function or(parts: string[]): string {
  if (!parts.length) return 'false';
  if (parts.includes('true')) return 'true';
  return parts.length === 1 ? parts[0] : `(${parts.join(' OR ')})`;
}

import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { CLIENT_KINDS, type ClientKind, isClientKind } from '../auth/principal.js';

/**
 * A member kind's access policy, declared in server/access/policies/<kind>.json and compiled into SQL
 * (server/access/access-sql.ts) with the search engine's parameters, so every query path applies the same filter.
 *
 * `{org}` (the client's ODS code) and `{client}` (its client id) may appear in `where` and `identifier`.
 */
export interface AccessPolicy {
  kind: ClientKind;
  description: string;
  /** Named sets of resources of one type, referred to by conditions and rules. */
  sets: Record<string, AccessSet>;
  rules: AccessRule[];
}

export interface AccessSet {
  type: string;
  /** `system|value`: references may name a member by this identifier alone (Reference.identifier). */
  identifier?: string;
  /** Members match any of these. */
  match: AccessCondition[];
  /** A small set (the client's organisation, its staff): resolved to ids once per request. */
  materialize?: boolean;
}

/** All the parts present must hold. */
export interface AccessCondition {
  /** Search criteria on the resource itself, e.g. `status=active`. */
  where?: string;
  /** A reference search parameter of the resource points at a member of one of these sets. */
  refersTo?: { param: string; sets: string[] };
  /** A member of the set refers to the resource through this reference search parameter. */
  referencedBy?: { param: string; set: string };
}

export interface AccessRule {
  /** Resource types, or `*` for every type. */
  types: string[];
  /** Permission letters as in SMART v2 scopes: c r u d s. */
  interactions: string;
  /** Without any of the three, every resource of the types; with them, those meeting any. */
  match?: AccessCondition[];
  inSet?: string;
  /** Patients in this set (of Patient), and every resource in their Patient compartments. */
  compartmentOf?: string;
  /**
   * The only top-level elements an update under this rule may change (a pharmacy's dispensing
   * status, never the prescriber's clinical content); absent = any element.
   */
  changeable?: string[];
}

const DIR = path.join(__dirname, 'policies');
const SHARED_SETS = 'sets.json';

/** Loads one policy per member kind; a missing or malformed file stops the server at start. */
export function loadPolicies(dir = DIR): Map<ClientKind, AccessPolicy> {
  const policies = new Map<ClientKind, AccessPolicy>();
  const read = (file: string): unknown => JSON.parse(readFileSync(path.join(dir, file), 'utf8'));
  // sets.json holds sets every policy may use (the client's organisation, its staff).
  const shared = (read(SHARED_SETS) as { sets: Record<string, AccessSet> }).sets;
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.json') && f !== SHARED_SETS)) {
    const policy = read(file) as AccessPolicy;
    policy.sets = { ...shared, ...policy.sets };
    checkPolicy(policy, file);
    policies.set(policy.kind, policy);
  }
  for (const kind of CLIENT_KINDS) if (!policies.has(kind)) throw new Error(`No access policy for client kind '${kind}' in ${dir}`);
  return policies;
}

/** Structural checks the compiler relies on; search parameters are checked when the engine compiles it. */
function checkPolicy(policy: AccessPolicy, file: string): void {
  const fail = (why: string): never => {
    throw new Error(`Access policy ${file}: ${why}`);
  };
  if (!isClientKind(policy.kind)) fail(`unknown kind '${policy.kind}'`);
  const setNamed = (name: string): AccessSet => policy.sets[name] ?? fail(`unknown set '${name}'`);
  const checkConditions = (conditions: AccessCondition[]): void => {
    for (const c of conditions) {
      if (!c.where && !c.refersTo && !c.referencedBy) fail('a condition needs where, refersTo or referencedBy');
      c.refersTo?.sets.forEach(setNamed);
      if (c.referencedBy) setNamed(c.referencedBy.set);
    }
  };
  for (const set of Object.values(policy.sets)) checkConditions(set.match);
  for (const rule of policy.rules) {
    if (!/^c?r?u?d?s?$/.test(rule.interactions)) fail(`interactions '${rule.interactions}' are not letters of cruds in order`);
    checkConditions(rule.match ?? []);
    if (rule.inSet && rule.types.some((t) => t !== setNamed(rule.inSet!).type)) fail(`inSet '${rule.inSet}' holds ${policy.sets[rule.inSet].type}, not ${rule.types.join(', ')}`);
    if (rule.compartmentOf && setNamed(rule.compartmentOf).type !== 'Patient') fail(`compartmentOf '${rule.compartmentOf}' must be a set of Patient`);
    if (rule.changeable && (!rule.interactions.includes('u') || !rule.changeable.every((e) => /^[a-zA-Z][a-zA-Z0-9]*$/.test(e)))) fail(`changeable needs an update rule and element names`);
  }
  // Sets refer to one another; a cycle would make the SQL infinite.
  const visiting = new Set<string>();
  const done = new Set<string>();
  const visit = (name: string): void => {
    if (done.has(name)) return;
    if (visiting.has(name)) fail(`sets refer to each other in a cycle through '${name}'`);
    visiting.add(name);
    for (const c of setNamed(name).match) {
      c.refersTo?.sets.forEach(visit);
      if (c.referencedBy) visit(c.referencedBy.set);
    }
    visiting.delete(name);
    done.add(name);
  };
  Object.keys(policy.sets).forEach(visit);
}

/** Elements every update may change whatever the rule says: they are the server's or presentation, not content. */
const ALWAYS_CHANGEABLE = ['resourceType', 'id', 'meta', 'text'];

/**
 * The top-level elements an update of `type` may change under the policy, or undefined for any:
 * restricted only when every rule granting update on the type restricts it.
 */
export function changeableElements(policy: AccessPolicy, type: string): ReadonlySet<string> | undefined {
  const rules = policy.rules.filter((r) => r.interactions.includes('u') && (r.types.includes(type) || r.types.includes('*')));
  if (!rules.length || rules.some((r) => !r.changeable)) return undefined;
  return new Set([...ALWAYS_CHANGEABLE, ...rules.flatMap((r) => r.changeable!)]);
}

/**
 * The reference search parameters through which a resource of `type` brings what it refers to into
 * the client's view: every `referencedBy` edge from a set of that type (a care team's patient, a
 * prescription's subject). A write may only point them at what the client could already read.
 */
export function wideningParams(policy: AccessPolicy, type: string): string[] {
  const conditions = [...Object.values(policy.sets).flatMap((s) => s.match), ...policy.rules.flatMap((r) => r.match ?? [])];
  const params = conditions.flatMap((c) => (c.referencedBy && policy.sets[c.referencedBy.set].type === type ? [c.referencedBy.param] : []));
  return [...new Set(params)];
}

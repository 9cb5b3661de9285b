import type { Principal } from '../auth/principal.js';
import { forbidden } from '../errors.js';
import { type AccessSql, compileAccess } from './access-sql.js';
import type { Queryable } from '../store/db.js';
import { SqlWriter } from '../search/sql-writer.js';
import type { SearchEngine } from '../search/search.js';
import { type AccessPolicy, changeableElements, wideningParams } from './policy.js';
import { type Permission, type ScopeGrant, grantOf, scopeAllows } from './scopes.js';

const WRITES: Permission[] = ['c', 'u', 'd'];

/** Each token's scopes parsed once: its principal (and scope list) is the same object on every request (auth/verified-tokens.ts). */
const grants = new WeakMap<readonly string[], ScopeGrant>();

function grantFor(scopes: readonly string[]): ScopeGrant {
  let grant = grants.get(scopes);
  if (!grant) grants.set(scopes, (grant = grantOf(scopes)));
  return grant;
}
const VERB: Record<Permission, string> = { c: 'create', r: 'read', u: 'update', d: 'delete', s: 'search' };

/**
 * What one client may do: its SMART scopes AND its organisation's policy. A permission its scopes
 * do not grant is denied outright (403); rows outside the policy are filtered out of reads and
 * refused on writes.
 */
export class RequestAccess implements AccessSql {
  private readonly grant: ScopeGrant;

  constructor(
    readonly principal: Principal,
    /** The policy as declared: what no SQL says (which elements an update may change, which references widen). */
    private readonly declared: AccessPolicy,
    private readonly policy: AccessSql,
    /** The policy before prepare(): what writes are checked against, inside their transaction. */
    private readonly exactPolicy = policy,
  ) {
    this.grant = grantFor(principal.scopes);
  }

  /** The top-level elements this client's updates of `type` may change; undefined for any. */
  changeable(type: string): ReadonlySet<string> | undefined {
    return changeableElements(this.declared, type);
  }

  /** The reference parameters of `type` through which a written resource brings its targets into this client's view. */
  widening(type: string): string[] {
    return wideningParams(this.declared, type);
  }

  /**
   * The same access evaluated wholly in SQL, without the sets prepare() resolved beforehand: a write
   * is checked inside its transaction, where it may itself have changed those sets (a new patient).
   */
  exact(): RequestAccess {
    return this.exactPolicy === this.policy ? this : new RequestAccess(this.principal, this.declared, this.exactPolicy);
  }

  grants(type: string, permission: Permission): boolean {
    return scopeAllows(this.grant, type, permission) && this.policy.grants(type, permission);
  }

  /** `fewRows`: `r` is a few rows named by id (AccessSql.condition). */
  condition(w: SqlWriter, r: string, type: string, permission: Permission, fewRows = false): string {
    return scopeAllows(this.grant, type, permission) ? this.policy.condition(w, r, type, permission, fewRows) : 'false';
  }

  /** No filter applies: the client may use every resource of the type for the permission. */
  unrestricted(type: string, permission: Permission): boolean {
    return scopeAllows(this.grant, type, permission) && this.policy.unrestricted(type, permission);
  }

  anyType(w: SqlWriter, r: string, permission: Permission): string {
    if (scopeAllows(this.grant, '*', permission)) return this.policy.anyType(w, r, permission);
    const types = [...this.grant.keys()].filter((t) => scopeAllows(this.grant, t, permission));
    return types.length ? `(${r}.resource_type = ANY(${w.p(types)}::text[]) AND ${this.policy.anyType(w, r, permission)})` : 'false';
  }

  /** This client's access with its policy's small sets resolved (see AccessSql.prepare): build once per request. */
  async prepare(sql: Queryable): Promise<RequestAccess> {
    const prepared = await this.exactPolicy.prepare(sql);
    // A policy with no sets to resolve (an administrator's) is already as prepared as it gets.
    return prepared === this.policy ? this : new RequestAccess(this.principal, this.declared, prepared, this.exactPolicy);
  }

  /**
   * Throws 403 unless the token's scopes allow this permission on the type, and, for writes, the
   * policy allows it on some resources of the type. Reads outside the policy are not refused here:
   * they find nothing (404, or an empty searchset), so existence is not revealed.
   */
  require(type: string, permission: Permission): void {
    if (!scopeAllows(this.grant, type, permission)) throw forbidden(`The access token's scopes do not allow ${VERB[permission]} on ${type} (needs system/${type}.${permission})`);
    if (WRITES.includes(permission) && !this.policy.grants(type, permission)) throw forbidden(`A ${this.principal.kind} client may not ${VERB[permission]} ${type}`);
  }
}

/** Compiles and caches each client's policy: compiling parses every criterion of the policy. */
export class AccessCompiler {
  private readonly cache = new Map<string, AccessSql>();

  constructor(
    private readonly search: SearchEngine,
    private readonly policies: ReadonlyMap<string, AccessPolicy>,
  ) {
    // Compile each policy once now, so a policy naming an unknown parameter stops the server at start.
    for (const policy of policies.values()) compileAccess(search.registry, policy, { org: 'X', client: 'x' });
  }

  forPrincipal(principal: Principal): RequestAccess {
    const key = `${principal.kind}\u0000${principal.org}\u0000${principal.clientId}`;
    const policy = this.policies.get(principal.kind);
    if (!policy) throw forbidden(`No access policy for client kind '${principal.kind}'`);
    let sql = this.cache.get(key);
    if (!sql) {
      sql = compileAccess(this.search.registry, policy, { org: principal.org, client: principal.clientId });
      if (this.cache.size > 10_000) this.cache.clear();
      this.cache.set(key, sql);
    }
    return new RequestAccess(principal, policy, sql);
  }
}

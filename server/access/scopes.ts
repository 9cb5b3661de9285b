import { parseScope } from '../auth/token-scopes.js';

/**
 * SMART on FHIR system scopes (https://hl7.org/fhir/smart-app-launch/scopes-and-launch-context.html):
 * v2 `system/Patient.rs`, `system/*.cruds`; v1 `system/Patient.read`, `.write`, `.*`.
 * Backend services act for a system, so `patient/` and `user/` scopes grant nothing here, and
 * v2 scopes narrowed by a query (`?category=...`) are not granted rather than granted too widely.
 */

/** c create, r read (read, vread, instance history), u update/patch, d delete, s search (type/system search and history). */
export type Permission = 'c' | 'r' | 'u' | 'd' | 's';

/** Resource type ('*' included) → permissions the scopes grant together. */
export type ScopeGrant = ReadonlyMap<string, ReadonlySet<Permission>>;

export function grantOf(scopes: readonly string[]): ScopeGrant {
  const grant = new Map<string, Set<Permission>>();
  for (const scope of scopes) {
    const parsed = parseScope(scope);
    if (!parsed || parsed.context !== 'system' || parsed.query) continue;
    const set = grant.get(parsed.type) ?? new Set<Permission>();
    for (const p of parsed.perms) set.add(p as Permission);
    grant.set(parsed.type, set);
  }
  return grant;
}

export function scopeAllows(grant: ScopeGrant, type: string, permission: Permission): boolean {
  return !!(grant.get(type)?.has(permission) || grant.get('*')?.has(permission));
}

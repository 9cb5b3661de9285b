/**
 * SMART on FHIR system scopes (https://hl7.org/fhir/smart-app-launch/scopes-and-launch-context.html):
 * v2 `system/Patient.rs`, `system/*.cruds`; v1 `system/Patient.read`, `.write`, `.*`.
 * Backend services act for a system, so `patient/` and `user/` scopes grant nothing here, and
 * v2 scopes narrowed by a query (`?category=...`) are not granted rather than granted too widely.
 */

/** c create, r read (read, vread, instance history), u update/patch, d delete, s search (type/system search and history). */
export type Permission = 'c' | 'r' | 'u' | 'd' | 's';
export const PERMISSIONS: readonly Permission[] = ['c', 'r', 'u', 'd', 's'];

const V1: Record<string, Permission[]> = { read: ['r', 's'], write: ['c', 'u', 'd'], '*': ['c', 'r', 'u', 'd', 's'] };

/** The permissions one scope grants, per resource type ('*' for all), or undefined if it grants nothing here. */
export function parseScope(scope: string): { type: string; permissions: Permission[] } | undefined {
  const m = /^system\/([A-Za-z]+|\*)\.([a-z*]+)$/.exec(scope);
  if (!m) return undefined;
  const [, type, rest] = m;
  if (V1[rest]) return { type, permissions: V1[rest] };
  // v2 letters must appear in the order c, r, u, d, s, each at most once.
  if (!/^c?r?u?d?s?$/.test(rest)) return undefined;
  return { type, permissions: [...rest] as Permission[] };
}

/** Resource type ('*' included) → permissions the scopes grant together. */
export type ScopeGrant = ReadonlyMap<string, ReadonlySet<Permission>>;

export function grantOf(scopes: readonly string[]): ScopeGrant {
  const grant = new Map<string, Set<Permission>>();
  for (const scope of scopes) {
    const parsed = parseScope(scope);
    if (!parsed) continue;
    const set = grant.get(parsed.type) ?? new Set<Permission>();
    for (const p of parsed.permissions) set.add(p);
    grant.set(parsed.type, set);
  }
  return grant;
}

export function scopeAllows(grant: ScopeGrant, type: string, permission: Permission): boolean {
  return !!(grant.get(type)?.has(permission) || grant.get('*')?.has(permission));
}

/**
 * Narrowing of requested SMART scopes to what a client is registered for
 * (https://hl7.org/fhir/smart-app-launch/scopes-and-launch-context.html). v1 forms (`.read`,
 * `.write`, `.*`) are read as their v2 permission sets, so a registered `system/*.cruds` allows
 * `system/Patient.rs` and `system/*.read`.
 */

export interface Scope {
  context: string;
  type: string;
  /** v2 permission letters in canonical order, a subset of `cruds`. */
  perms: string;
  /** `?param=value` constraint of a v2 scope, or ''. */
  query: string;
}

const ORDER = 'cruds';
const V1_PERMS: Record<string, string> = { read: 'rs', write: 'cud', '*': 'cruds' };

/** A SMART scope's parts, or undefined if it is not one (v1 permissions read as their v2 letters). */
export function parseScope(text: string): Scope | undefined {
  const m = /^(patient|user|system)\/([A-Za-z]+|\*)\.([a-z*]+)(\?.+)?$/.exec(text);
  if (!m) return undefined;
  const v1 = V1_PERMS[m[3]];
  // v2 letters must come in the order c, r, u, d, s, each at most once.
  if (!v1 && !/^c?r?u?d?s?$/.test(m[3])) return undefined;
  if (v1 && m[4]) return undefined;
  return { context: m[1], type: m[2], perms: v1 ?? m[3], query: m[4] ?? '' };
}

/** The part of `want` that `allowed` permits, or undefined when they do not overlap. */
function intersect(want: Scope, allowed: Scope): Scope | undefined {
  if (want.context !== allowed.context) return undefined;
  const type = want.type === '*' ? allowed.type : allowed.type === '*' || allowed.type === want.type ? want.type : undefined;
  const perms = [...ORDER].filter((p) => want.perms.includes(p) && allowed.perms.includes(p)).join('');
  if (want.query && allowed.query && want.query !== allowed.query) return undefined;
  if (!type || !perms) return undefined;
  return { context: want.context, type, perms, query: want.query || allowed.query };
}

const same = (a: Scope, b: Scope): boolean => a.type === b.type && a.perms === b.perms && a.query === b.query;

/**
 * Scopes to grant: each requested scope as asked when a registered scope covers it, else the part
 * of it the registered scopes allow (`system/*.cruds` against a registered `system/Patient.rs`
 * grants `system/Patient.rs`). No request (undefined) grants everything registered. An empty
 * result means nothing requested is grantable (invalid_scope).
 */
export function grantScopes(requested: string[] | undefined, registered: string[]): string[] {
  if (requested === undefined) return [...registered];
  const allowed = registered.map(parseScope).filter((s): s is Scope => s !== undefined);
  const granted = new Set<string>();
  for (const text of requested) {
    const want = parseScope(text);
    if (!want) continue;
    const parts = allowed.map((a) => intersect(want, a)).filter((p): p is Scope => p !== undefined);
    if (parts.some((p) => same(p, want))) granted.add(text);
    else for (const p of parts) granted.add(`${p.context}/${p.type}.${p.perms}${p.query}`);
  }
  return [...granted];
}

/** Whether a registered scope is a SMART resource scope this server understands. */
export const isResourceScope = (text: string): boolean => parseScope(text) !== undefined;

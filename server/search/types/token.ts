import type { IndexRows, TokenRow } from '../index-rows.js';
import type { SqlWriter } from '../sql-writer.js';
import { splitEscaped, unescape } from '../values.js';
import type { SearchType } from './search-type.js';
import { isText } from './search-type.js';
import { stringRow } from './string.js';

// Token parameters (https://hl7.org/fhir/R4/search.html#token): `code`, `system|code`, `|code`,
// `system|`; `:not`, `:text` (the display and text, as string rows), `:of-type` (identifier type and
// value) and `:in` / `:not-in` (a ValueSet, expanded before the SQL is written; refused in memory).

/** Splits a token value: `code`, `system|code`, `|code` (no system), `system|` (any code). */
export function parseToken(value: string): { system?: string | null; code?: string } {
  const parts = splitEscaped(value, '|');
  if (parts.length === 1) return { code: unescape(parts[0]) };
  const [system, code] = [unescape(parts[0]), unescape(parts.slice(1).join('|'))];
  return { system: system === '' ? null : system, ...(code !== '' ? { code } : {}) };
}

/**
 * A token value read against its parameter: where the values carry an implicit system (a bound
 * `code`, see bindings.ts), `system|code` must name that system and `|code` matches, since the
 * element states no system of its own. Both engines read tokens through here. Undefined means the
 * value can match nothing.
 */
export function tokenCriterion(value: string, implicit: string | undefined): { system?: string | null; code?: string } | undefined {
  const token = parseToken(value);
  if (!implicit || token.system === undefined) return token;
  if (token.system !== null && token.system !== implicit) return undefined;
  return token.code !== undefined ? { code: token.code } : {};
}

/** Token rows plus `:text` rows and, for identifiers, `:of-type` rows. */
function addTokens(rows: IndexRows, param: string, grp: number | null, type: string, value: any): void {
  const token = (system: unknown, code: unknown): void => {
    if (system || code) rows.token.push({ param, grp, system: isText(system) ? system : null, code: isText(code) ? code : null });
  };
  const text = (t: unknown): void => {
    if (isText(t)) rows.string.push(stringRow(`${param}:text`, grp, t));
  };
  const coding = (c: any): void => {
    token(c?.system, c?.code);
    text(c?.display);
  };
  switch (type) {
    case 'Identifier':
      token(value.system, value.value);
      text(value.type?.text);
      for (const c of value.type?.coding ?? []) {
        if (isText(c.code) && isText(value.value)) rows.token.push({ param: `${param}:of-type`, grp, system: c.system ?? null, code: `${c.code}|${value.value}` });
      }
      break;
    case 'CodeableConcept':
      text(value.text);
      for (const c of value.coding ?? []) coding(c);
      break;
    case 'Coding':
      coding(value);
      break;
    case 'ContactPoint':
      token(value.system, value.value);
      break;
    default:
      if (typeof value === 'string' || typeof value === 'boolean' || typeof value === 'number') token(undefined, String(value));
  }
}

/** `:in`: the codes of the ValueSet's expansion, per system. */
function inSql(w: SqlWriter, x: string, value: string, implicit: string | undefined): string {
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

export const token: SearchType = {
  table: 'search_token',
  modifiers: ['not', 'text', 'missing', 'of-type', 'in', 'not-in'],
  check: (_def, modifier, value) => (modifier === 'of-type' && splitEscaped(value, '|').length !== 3 ? ':of-type takes system|code|value' : undefined),
  extract: addTokens,
  source(def, modifier) {
    if (modifier === 'text') return { kind: 'string', param: `${def.code}:text`, type: 'string' };
    if (modifier === 'of-type') return { kind: 'token', param: `${def.code}:of-type`, type: 'token' };
    return undefined;
  },
  sql(w, def, modifier, x, value) {
    if (modifier === 'in') return inSql(w, x, value, def.implicitSystem);
    if (modifier === 'of-type') {
      const [system, code, identifier] = splitEscaped(value, '|').map(unescape);
      return `${x}.system = ${w.p(system)} AND ${x}.code = ${w.p(`${code}|${identifier}`)}`;
    }
    const criterion = tokenCriterion(value, def.implicitSystem);
    if (!criterion) return 'false';
    const parts: string[] = [];
    if (criterion.code !== undefined) parts.push(`${x}.code = ${w.p(criterion.code)}`);
    if (criterion.system === null) parts.push(`${x}.system IS NULL`);
    else if (criterion.system !== undefined) parts.push(`${x}.system = ${w.p(criterion.system)}`);
    return parts.join(' AND ') || 'true';
  },
  matches(def, modifier, row, value) {
    const r = row as TokenRow;
    if (modifier === 'of-type') {
      const [system, code, identifier] = splitEscaped(value, '|').map(unescape);
      return r.system === system && r.code === `${code}|${identifier}`;
    }
    const criterion = tokenCriterion(value, def.implicitSystem);
    if (!criterion) return false;
    if (criterion.code !== undefined && r.code !== criterion.code) return false;
    if (criterion.system === null) return r.system === null;
    if (criterion.system !== undefined) return r.system === criterion.system;
    return true;
  },
};

import type { IndexRows, StringRow } from '../index-rows.js';
import { prefixUpperBound, startsWithPrefix, unescape } from '../values.js';
import type { SearchType } from './search-type.js';
import { isText } from './search-type.js';

// String parameters (https://hl7.org/fhir/R4/search.html#string): case- and accent-insensitive
// "starts with" by default, `:exact` and `:contains`. Names and addresses match on any of their parts.

/** Strings match case- and accent-insensitively. */
function normalizeString(value: string): string {
  return value.normalize('NFD').replace(/\p{M}/gu, '').toLowerCase().replace(/\s+/g, ' ').trim();
}

/** A string row, as token parameters write for `:text` too. */
export function stringRow(param: string, grp: number | null, text: string): StringRow {
  return { param, grp, norm: normalizeString(text), exact: text };
}

/** A name or address matches on any of its parts. */
function stringParts(type: string, value: any): string[] {
  if (typeof value === 'string') return [value];
  if (type === 'HumanName') return [value.text, value.family, ...(value.given ?? []), ...(value.prefix ?? []), ...(value.suffix ?? [])].filter(isText);
  if (type === 'Address') return [value.text, ...(value.line ?? []), value.city, value.district, value.state, value.postalCode, value.country].filter(isText);
  return [];
}

export const string: SearchType = {
  table: 'search_string',
  modifiers: ['exact', 'contains', 'missing'],
  extract(rows: IndexRows, param, grp, valueType, value) {
    for (const s of stringParts(valueType, value)) rows.string.push(stringRow(param, grp, s));
  },
  sql(w, _def, modifier, x, value) {
    const norm = normalizeString(unescape(value));
    if (modifier === 'exact') return `${x}.value_exact = ${w.p(unescape(value))} AND ${x}.value_norm = ${w.p(norm)}`;
    if (modifier === 'contains') return `${x}.value_norm LIKE ${w.p('%' + norm.replace(/[\\%_]/g, '\\$&') + '%')}`;
    // A range on the normalised value rather than LIKE, so the index serves it (see prefixUpperBound).
    return `${x}.value_norm >= ${w.p(norm)} AND ${x}.value_norm < ${w.p(prefixUpperBound(norm))}`;
  },
  matches(_def, modifier, row, value) {
    const r = row as StringRow;
    const norm = normalizeString(unescape(value));
    if (modifier === 'exact') return r.exact === unescape(value);
    if (modifier === 'contains') return r.norm.includes(norm);
    return startsWithPrefix(r.norm, norm);
  },
};

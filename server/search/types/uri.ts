import type { IndexRows, UriRow } from '../index-rows.js';
import { prefixUpperBound, startsWithPrefix, unescape } from '../values.js';
import type { SearchType } from './search-type.js';

// URI parameters (https://hl7.org/fhir/R4/search.html#uri): exact by default, `:below` a path prefix,
// `:above` any parent path of the searched URI.

/** The URIs a search value is below: itself and every parent path. */
function uriAncestors(value: string): string[] {
  const result = [value];
  const start = value.indexOf('//') >= 0 ? value.indexOf('//') + 2 : 0;
  for (let i = value.length - 1; i > start; i--) if (value[i] === '/') result.push(value.slice(0, i));
  return result;
}

export const uri: SearchType = {
  table: 'search_uri',
  modifiers: ['above', 'below', 'missing'],
  extract(rows: IndexRows, param, grp, _valueType, value) {
    if (typeof value === 'string') rows.uri.push({ param, grp, value });
  },
  sql(w, _def, modifier, x, raw) {
    const value = unescape(raw);
    if (modifier === 'below') return `${x}.value >= ${w.p(value)} AND ${x}.value < ${w.p(prefixUpperBound(value))}`;
    if (modifier === 'above') return `${x}.value = ANY(${w.p(uriAncestors(value))}::text[])`;
    return `${x}.value = ${w.p(value)}`;
  },
  matches(_def, modifier, row, raw) {
    const r = row as UriRow;
    const value = unescape(raw);
    if (modifier === 'below') return startsWithPrefix(r.value, value);
    if (modifier === 'above') return uriAncestors(value).includes(r.value);
    return r.value === value;
  },
};

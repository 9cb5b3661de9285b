import type { Resource } from '@medplum/fhirtypes';
import type { SearchParamDef } from '../registry.js';
import type { SqlWriter } from '../sql-writer.js';
import { unescape } from '../values.js';
import { dateMatches, instantSql } from './date.js';

// Parameters that are columns of the resources table rather than index rows: `_id` (a token) and
// `_lastUpdated` (a date), https://hl7.org/fhir/R4/search.html#all. Parameters of type `special`
// (near, _text, _content, ...) have no index here and are refused when parsed.

/** SQL on the resources table aliased r. */
export function columnSql(w: SqlWriter, def: SearchParamDef, modifier: string | undefined, values: string[], r: string): string {
  if (modifier === 'missing') return values[0] === 'true' ? 'false' : 'true';
  if (def.column === 'id') return `${modifier === 'not' ? 'NOT ' : ''}${r}.id = ANY(${w.p(values.map(unescape))}::text[])`;
  return instantSql(w, `${r}.last_updated`, values);
}

/** In memory: the same conditions on the resource's id and meta.lastUpdated. */
export function columnMatches(resource: Resource, def: SearchParamDef, modifier: string | undefined, values: string[]): boolean {
  if (modifier === 'missing') return values[0] === 'false';
  if (def.column === 'id') {
    const hit = values.map(unescape).includes(resource.id ?? '');
    return modifier === 'not' ? !hit : hit;
  }
  const at = resource.meta?.lastUpdated ? Date.parse(resource.meta.lastUpdated) : NaN;
  if (Number.isNaN(at)) return false;
  return values.some((v) => dateMatches({ low: at, high: at + 1 }, v));
}

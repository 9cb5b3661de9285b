import { FHIR_ID, parseRelative } from '../../fhir/reference.js';
import type { IndexRows, ReferenceRow } from '../index-rows.js';
import { unescape } from '../values.js';
import type { SearchType } from './search-type.js';
import { isText } from './search-type.js';

// Reference parameters (https://hl7.org/fhir/R4/search.html#reference): relative references are
// indexed by target type and id, anything else (absolute URLs, canonicals, urn:uuid) by its text;
// logical references (an identifier only) feed `:identifier`, stored as token rows.

/** A reference search value as both engines read it: Type/id, a bare id, or a URL compared as written. */
function parseReferenceValue(baseUrl: string, modifier: string | undefined, raw: string): { type?: string; id?: string; url?: string; none?: boolean } {
  let value = unescape(raw);
  if (baseUrl && value.startsWith(baseUrl + '/')) value = value.slice(baseUrl.length + 1);
  const typed = modifier && modifier !== 'identifier' ? modifier : undefined;
  const ref = parseRelative(value);
  if (ref) return typed && typed !== ref.resourceType ? { none: true } : { type: ref.resourceType, id: ref.id };
  if (FHIR_ID.test(value)) return { ...(typed ? { type: typed } : {}), id: value };
  return { url: value };
}

export const reference: SearchType = {
  table: 'search_reference',
  // `:[type]` is accepted too, for the parameter's target types (checked by parse.ts against the registry).
  modifiers: ['missing', 'identifier'],
  extract(rows: IndexRows, param, grp, _valueType, value) {
    if (typeof value === 'string') {
      rows.reference.push({ param, grp, targetType: null, targetId: null, url: value });
      return;
    }
    if (isText(value.reference)) {
      const ref = parseRelative(value.reference);
      rows.reference.push({ param, grp, targetType: ref?.resourceType ?? null, targetId: ref?.id ?? null, url: value.reference });
    }
    if (value.identifier && (value.identifier.system || value.identifier.value)) {
      rows.token.push({ param: `${param}:identifier`, grp, system: value.identifier.system ?? null, code: value.identifier.value ?? null });
    }
  },
  source: (def, modifier) => (modifier === 'identifier' ? { kind: 'token', param: `${def.code}:identifier`, type: 'token' } : undefined),
  sql(w, def, modifier, x, value) {
    const ref = parseReferenceValue(w.baseUrl, modifier, value);
    if (ref.none) return 'false';
    if (ref.url !== undefined) return `${x}.url = ${w.p(ref.url)}`;
    const parts = [`${x}.target_id = ${w.p(ref.id)}`];
    if (ref.type) parts.push(`${x}.target_type = ${w.p(ref.type)}`);
    else if (def.targets.length === 1) parts.push(`${x}.target_type = ${w.p(def.targets[0])}`);
    return parts.join(' AND ');
  },
  matches(def, modifier, row, value) {
    const r = row as ReferenceRow;
    // The matcher has no base URL: absolute references to this server are compared as written.
    const ref = parseReferenceValue('', modifier, value);
    if (ref.none) return false;
    if (ref.url !== undefined) return r.url === ref.url;
    if (r.targetId !== ref.id) return false;
    if (ref.type) return r.targetType === ref.type;
    return def.targets.length === 1 ? r.targetType === def.targets[0] : true;
  },
};

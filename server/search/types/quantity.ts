import type { IndexRows, QuantityRow } from '../index-rows.js';
import { splitEscaped, unescape } from '../values.js';
import { numberMatches, numberProblem, numberSql, storedRange } from './number.js';
import type { SearchType } from './search-type.js';

// Quantity parameters (https://hl7.org/fhir/R4/search.html#quantity): a number compared as number
// parameters compare, then `number|system|code` matches system and code, and `number||code`
// matches the code or the unit as written.

export const quantity: SearchType = {
  table: 'search_quantity',
  modifiers: ['missing'],
  check: (def, _modifier, value) => numberProblem(def, splitEscaped(value, '|')[0], 'quantity', value),
  extract(rows: IndexRows, param, grp, valueType, value) {
    const range = storedRange(valueType, value);
    if (!range) return;
    const { low, high, unitSource } = range;
    // Money carries its currency where a Quantity carries a UCUM code.
    const money = valueType === 'Money';
    rows.quantity.push({
      param,
      grp,
      low,
      high,
      system: money ? 'urn:iso:std:iso:4217' : (unitSource.system ?? null),
      code: money ? (unitSource.currency ?? null) : (unitSource.code ?? null),
      unit: unitSource.unit ?? null,
    });
  },
  sql(w, _def, _modifier, x, value) {
    const [number, system, code] = splitEscaped(value, '|').map(unescape);
    const parts = [numberSql(w, x, number)];
    if (system) parts.push(`${x}.system = ${w.p(system)}`);
    if (code) parts.push(system ? `${x}.code = ${w.p(code)}` : `(${x}.code = ${w.p(code)} OR ${x}.unit = ${w.p(code)})`);
    return parts.join(' AND ');
  },
  matches(_def, _modifier, row, value) {
    const r = row as QuantityRow;
    const [number, system, code] = splitEscaped(value, '|').map(unescape);
    if (!numberMatches(r, number)) return false;
    if (system && r.system !== system) return false;
    if (code && (system ? r.code !== code : r.code !== code && r.unit !== code)) return false;
    return true;
  },
};

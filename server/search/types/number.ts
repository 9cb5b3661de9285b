import type { IndexRows, NumberRow } from '../index-rows.js';
import type { Bound, Clause, Prefix, RangeRule } from './range.js';
import { evaluateRule, rangeColumns, ruleSql, splitPrefix } from './range.js';
import type { SearchType } from './search-type.js';
import type { SqlWriter } from '../sql-writer.js';

// Number parameters (https://hl7.org/fhir/R4/search.html#number): stored values are closed ranges
// (a Range's low and high, or one value), and a searched number carries its implicit precision.

/** A searched number with its implicit precision range: 100 means [99.5, 100.5), 1e2 means [50, 150). */
interface SearchNumber {
  value: number;
  low: number;
  high: number;
}

function parseSearchNumber(text: string): SearchNumber | undefined {
  const m = /^([-+]?)(\d+)(?:\.(\d+))?(?:[eE]([-+]?\d+))?$/.exec(text.trim());
  if (!m) return undefined;
  const value = Number(text);
  const decimals = m[3]?.length ?? 0;
  const exponent = m[4] ? Number(m[4]) : 0;
  const half = 0.5 * 10 ** (exponent - decimals);
  return { value, low: value - half, high: value + half };
}

const NUMBER_EQ: Clause[] = [['low', '>=', 'sl'], ['high', '<', 'sh']];
const NUMBER_RULES: Record<Prefix, RangeRule> = {
  eq: { any: [NUMBER_EQ], implied: [['low', '<', 'sh']] },
  ne: { any: [NUMBER_EQ], negate: true },
  gt: { any: [[['high', '>', 'v']]] },
  lt: { any: [[['low', '<', 'v']]] },
  ge: { any: [[['high', '>=', 'v']]] },
  le: { any: [[['low', '<=', 'v']]] },
  sa: { any: [[['low', '>', 'v']]] },
  eb: { any: [[['high', '<', 'v']]] },
  ap: { any: [[['low', '>=', 'apl'], ['high', '<=', 'aph']]] },
};

/** The searched bounds a rule refers to. `ap` is 10% either side (https://hl7.org/fhir/R4/search.html#prefix). */
function numberBounds(n: SearchNumber): Record<Bound, number> {
  const tenth = Math.abs(n.value) * 0.1;
  return { sl: n.low, sh: n.high, v: n.value, apl: n.value - tenth, aph: n.value + tenth };
}

/** `[prefix]number`, as number and quantity values start. Undefined when it is not one. */
export function numberProblem(def: { code: string }, value: string, kind: 'number' | 'quantity', whole = value): string | undefined {
  return parseSearchNumber(splitPrefix(value).rest) ? undefined : `'${whole}' is not a valid ${kind} for '${def.code}'`;
}

/** SQL: a `[prefix]number` on the stored range of row x. */
export function numberSql(w: SqlWriter, x: string, value: string): string {
  const { prefix, rest } = splitPrefix(value);
  return ruleSql(w, NUMBER_RULES[prefix], rangeColumns(x), numberBounds(parseSearchNumber(rest)!), 'numeric');
}

/** In memory: the same condition. */
export function numberMatches(stored: { low: number; high: number }, value: string): boolean {
  const { prefix, rest } = splitPrefix(value);
  return evaluateRule(NUMBER_RULES[prefix], stored, numberBounds(parseSearchNumber(rest)!));
}

/**
 * The closed range a number, Quantity, Money or Range holds, and where its unit is written (a
 * Range's low or high). Undefined when it holds no number.
 */
export function storedRange(valueType: string, value: any): { low: number; high: number; unitSource: any } | undefined {
  if (typeof value === 'number') return { low: value, high: value, unitSource: value };
  if (valueType === 'Range') {
    if (value.low?.value === undefined && value.high?.value === undefined) return undefined;
    return { low: value.low?.value ?? -Infinity, high: value.high?.value ?? Infinity, unitSource: value.low ?? value.high ?? {} };
  }
  if (typeof value?.value === 'number') return { low: value.value, high: value.value, unitSource: value };
  return undefined;
}

export const number: SearchType = {
  table: 'search_number',
  modifiers: ['missing'],
  check: (def, _modifier, value) => numberProblem(def, value, 'number'),
  extract(rows: IndexRows, param, grp, valueType, value) {
    const range = storedRange(valueType, value);
    if (range) rows.number.push({ param, grp, low: range.low, high: range.high });
  },
  sql: (w, _def, _modifier, x, value) => numberSql(w, x, value),
  matches: (_def, _modifier, row, value) => numberMatches(row as NumberRow, value),
};

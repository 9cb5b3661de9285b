import type { DateRow, IndexRows } from '../index-rows.js';
import { daysInMonth } from '../../fhir/calendar.js';
import { timestampText } from '../../store/timestamp-text.js';
import type { SqlWriter } from '../sql-writer.js';
import type { Bound, Clause, Prefix, RangeRule } from './range.js';
import { evaluateRule, rangeColumns, ruleSql, splitPrefix } from './range.js';
import type { SearchType } from './search-type.js';

// Date parameters (https://hl7.org/fhir/R4/search.html#date): a date, dateTime, instant, Period or
// Timing is indexed as the range of instants it covers; a search value is a range too, and its
// prefix says how the two ranges must relate.

/** Half-open range of epoch milliseconds [low, high); open ends are -Infinity / Infinity. */
interface Range {
  low: number;
  high: number;
}

const DATE_RE = /^(\d{4})(?:-(\d{2})(?:-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?(Z|[+-]\d{2}:\d{2})?)?)?)?$/;

/**
 * The implicit range of a FHIR date, dateTime or instant: a value covers its whole precision, so
 * 2020-03 is [2020-03-01, 2020-04-01). Values without a time zone are read as UTC. Returns
 * undefined when the text is not a date.
 */
function dateRange(text: string): Range | undefined {
  const m = DATE_RE.exec(text.trim());
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s, frac, tz] = m;
  const year = Number(y);
  const month = mo ? Number(mo) - 1 : 0;
  const day = d ? Number(d) : 1;
  if (month > 11 || day < 1 || day > daysInMonth(year, month + 1) || (h && Number(h) > 23) || (mi && Number(mi) > 59) || (s && Number(s) > 60)) return undefined;
  const offsetMs = tz && tz !== 'Z' ? (tz[0] === '-' ? -1 : 1) * (Number(tz.slice(1, 3)) * 60 + Number(tz.slice(4, 6))) * 60_000 : 0;
  const millis = frac ? Number(frac.slice(0, 3).padEnd(3, '0')) : 0;
  const start = Date.UTC(year, month, day, h ? Number(h) : 0, mi ? Number(mi) : 0, s ? Number(s) : 0, millis) - offsetMs;
  if (Number.isNaN(start)) return undefined;
  let end: number;
  if (!mo) end = Date.UTC(year + 1, 0, 1);
  else if (!d) end = Date.UTC(year, month + 1, 1);
  else if (!h) end = Date.UTC(year, month, day + 1);
  else if (!s) end = start + 60_000;
  else if (!frac) end = start + 1000;
  else end = start + 1;
  // A time zone can only come with a time, so date-only ends are already UTC.
  return { low: start, high: end };
}

const DATE_EQ: Clause[] = [['low', '>=', 'sl'], ['high', '<=', 'sh']];
const DATE_RULES: Record<Prefix, RangeRule> = {
  // stored ranges are half-open and never empty (low < high), hence the implied bounds
  eq: { any: [DATE_EQ], implied: [['low', '<', 'sh']] },
  ne: { any: [DATE_EQ], negate: true },
  // "the range above the search value intersects the range of the target value"
  gt: { any: [[['high', '>', 'sh']]] },
  lt: { any: [[['low', '<', 'sl']]] },
  // ... "or the range of the search value fully contains the range of the target value"
  ge: { any: [[['high', '>', 'sh']], DATE_EQ], implied: [['high', '>', 'sl']] },
  le: { any: [[['low', '<', 'sl']], DATE_EQ], implied: [['low', '<', 'sh']] },
  sa: { any: [[['low', '>=', 'sh']]] },
  eb: { any: [[['high', '<=', 'sl']]] },
  ap: { any: [[['low', '<', 'aph'], ['high', '>', 'apl']]] },
};

/** For dates `ap` widens the searched range by 10% of its distance from now, at least a day. */
function dateBounds(r: Range, now: number): Record<Bound, number> {
  const gap = Math.max(0.1 * Math.abs(now - r.low), 86_400_000);
  return { sl: r.low, sh: r.high, v: r.low, apl: r.low - gap, aph: r.high + gap };
}

/** In memory: does a stored range satisfy one (already checked) date search value? */
export function dateMatches(stored: { low: number; high: number }, value: string): boolean {
  const { prefix, rest } = splitPrefix(value);
  return evaluateRule(DATE_RULES[prefix], stored, dateBounds(dateRange(rest)!, Date.now()));
}

function dateSql(w: SqlWriter, columns: { low: string; high: string }, value: string): string {
  const { prefix, rest } = splitPrefix(value);
  return ruleSql(w, DATE_RULES[prefix], columns, dateBounds(dateRange(rest)!, w.now), 'timestamptz');
}

/** Date values against an instant column (as a range of one millisecond), OR-ed. */
export function instantSql(w: SqlWriter, column: string, values: string[]): string {
  const columns = { low: column, high: `(${column} + interval '1 millisecond')` };
  return values.map((v) => `(${dateSql(w, columns, v)})`).join(' OR ');
}

/**
 * A window (see pairRanges in parse.ts): the same stored range satisfies both bounds, so it
 * overlaps [lower's start, upper's end); said in SQL so one index range serves both. Implied by the
 * two bounds, so left out when the lower bound starts at or after the upper one ends
 * (`gt2010&lt1985`): a long Period can still satisfy both, and PostgreSQL refuses such a range.
 */
export function windowSql(w: SqlWriter, x: string, lower: string, upper: string): string | undefined {
  const from = dateRange(splitPrefix(lower).rest)!;
  const to = dateRange(splitPrefix(upper).rest)!;
  if (from.low >= to.high) return undefined;
  return `tstzrange(${x}.low, ${x}.high, '[)') && tstzrange(${w.p(timestampText(from.low))}::timestamptz, ${w.p(timestampText(to.high))}::timestamptz, '[)')`;
}

/** The ranges a date, dateTime, instant, Period or Timing covers. */
function dateRanges(type: string, value: any): Range[] {
  if (typeof value === 'string') {
    const r = dateRange(value);
    return r ? [r] : [];
  }
  if (type === 'Period') {
    const low = value.start ? dateRange(value.start)?.low : -Infinity;
    const high = value.end ? dateRange(value.end)?.high : Infinity;
    return low !== undefined && high !== undefined ? [{ low, high }] : [];
  }
  if (type === 'Timing') {
    // A Timing covers its events and its bounds: one range from the earliest start to the latest end.
    const ranges = [...(value.event ?? []).map((e: string) => dateRange(e)), ...dateRanges('Period', value.repeat?.boundsPeriod ?? {}).filter(() => value.repeat?.boundsPeriod)].filter(
      (r): r is Range => !!r,
    );
    if (!ranges.length) return [];
    return [{ low: Math.min(...ranges.map((r) => r.low)), high: Math.max(...ranges.map((r) => r.high)) }];
  }
  return [];
}

export const date: SearchType = {
  table: 'search_date',
  modifiers: ['missing'],
  check: (def, _modifier, value) => (dateRange(splitPrefix(value).rest) ? undefined : `'${value}' is not a valid date for '${def.code}'`),
  extract(rows: IndexRows, param, grp, valueType, value) {
    for (const range of dateRanges(valueType, value)) rows.date.push({ param, grp, ...range });
  },
  sql: (w, _def, _modifier, x, value) => dateSql(w, rangeColumns(x), value),
  matches: (_def, _modifier, row, value) => dateMatches(row as DateRow, value),
};

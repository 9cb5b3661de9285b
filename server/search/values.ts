/**
 * Value semantics shared by the indexer, the SQL search and the in-memory matcher, so the two
 * engines compare the same normalised values (https://hl7.org/fhir/R4/search.html#ptypes).
 */

/** Strings match case- and accent-insensitively (https://hl7.org/fhir/R4/search.html#string). */
export function normalizeString(value: string): string {
  return value.normalize('NFD').replace(/\p{M}/gu, '').toLowerCase().replace(/\s+/g, ' ').trim();
}

/**
 * Upper bound (exclusive) of the strings starting with `prefix`, in code point order. Code point
 * order is the byte order of UTF-8, i.e. COLLATE "C", so `value >= prefix AND value < upper` is an
 * index range scan rather than a LIKE the planner may not use with a bound parameter.
 */
export function prefixUpperBound(prefix: string): string {
  const points = [...prefix];
  const last = points.pop();
  if (last === undefined) return '\u{10FFFF}';
  const next = last.codePointAt(0)! + 1;
  // Skip the surrogate block, which cannot appear in a valid string.
  return points.join('') + String.fromCodePoint(next >= 0xd800 && next <= 0xdfff ? 0xe000 : next);
}

export function startsWithPrefix(value: string, prefix: string): boolean {
  return value >= prefix && value < prefixUpperBound(prefix);
}

/** Half-open range of epoch milliseconds [low, high); open ends are -Infinity / Infinity. */
export interface Range {
  low: number;
  high: number;
}

const DATE_RE = /^(\d{4})(?:-(\d{2})(?:-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?(Z|[+-]\d{2}:\d{2})?)?)?)?$/;

/**
 * The implicit range of a FHIR date, dateTime or instant: a value covers its whole precision, so
 * 2020-03 is [2020-03-01, 2020-04-01) (https://hl7.org/fhir/R4/search.html#date). Values without a
 * time zone are read as UTC. Returns undefined when the text is not a date.
 */
export function dateRange(text: string): Range | undefined {
  const m = DATE_RE.exec(text.trim());
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s, frac, tz] = m;
  const year = Number(y);
  const month = mo ? Number(mo) - 1 : 0;
  const day = d ? Number(d) : 1;
  if (month > 11 || day < 1 || day > 31 || (h && Number(h) > 23) || (mi && Number(mi) > 59) || (s && Number(s) > 60)) return undefined;
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

/** Comparison prefixes of number, date and quantity parameters (https://hl7.org/fhir/R4/search.html#prefix). */
export const PREFIXES = ['eq', 'ne', 'gt', 'lt', 'ge', 'le', 'sa', 'eb', 'ap'] as const;
export type Prefix = (typeof PREFIXES)[number];

export function splitPrefix(value: string): { prefix: Prefix; rest: string } {
  const head = value.slice(0, 2);
  if ((PREFIXES as readonly string[]).includes(head) && /^[-+\d.]|^\d/.test(value.slice(2))) {
    return { prefix: head as Prefix, rest: value.slice(2) };
  }
  return { prefix: 'eq', rest: value };
}

/**
 * A searched number with its implicit precision range: 100 means [99.5, 100.5), 1e2 means [50, 150)
 * (https://hl7.org/fhir/R4/search.html#number).
 */
export interface SearchNumber {
  value: number;
  low: number;
  high: number;
}

export function parseSearchNumber(text: string): SearchNumber | undefined {
  const m = /^([-+]?)(\d+)(?:\.(\d+))?(?:[eE]([-+]?\d+))?$/.exec(text.trim());
  if (!m) return undefined;
  const value = Number(text);
  const decimals = m[3]?.length ?? 0;
  const exponent = m[4] ? Number(m[4]) : 0;
  const half = 0.5 * 10 ** (exponent - decimals);
  return { value, low: value - half, high: value + half };
}

/**
 * The condition a prefix sets on a stored range, for dates ([low, high) against the searched
 * [sl, sh)) and numbers (closed [low, high] against the searched value v and its precision range),
 * written once as data so the SQL builder and the in-memory matcher cannot drift apart.
 * Each clause is [stored bound, operator, searched bound]; `any` lists alternatives.
 */
export type Bound = 'sl' | 'sh' | 'v' | 'apl' | 'aph';
export type Clause = ['low' | 'high', '<' | '<=' | '>' | '>=', Bound];
export interface RangeRule {
  any: Clause[][];
  negate?: boolean;
  /** Conditions the rule implies, added in SQL only so an index can bound the scan; the matcher ignores them. */
  implied?: Clause[];
}

const DATE_EQ: Clause[] = [['low', '>=', 'sl'], ['high', '<=', 'sh']];
export const DATE_RULES: Record<Prefix, RangeRule> = {
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

const NUMBER_EQ: Clause[] = [['low', '>=', 'sl'], ['high', '<', 'sh']];
export const NUMBER_RULES: Record<Prefix, RangeRule> = {
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
export function numberBounds(n: SearchNumber): Record<Bound, number> {
  const tenth = Math.abs(n.value) * 0.1;
  return { sl: n.low, sh: n.high, v: n.value, apl: n.value - tenth, aph: n.value + tenth };
}

/** For dates `ap` widens the searched range by 10% of its distance from now, at least a day. */
export function dateBounds(r: Range, now: number): Record<Bound, number> {
  const gap = Math.max(0.1 * Math.abs(now - r.low), 86_400_000);
  return { sl: r.low, sh: r.high, v: r.low, apl: r.low - gap, aph: r.high + gap };
}

export function evaluateRule(rule: RangeRule, stored: { low: number; high: number }, bounds: Record<Bound, number>): boolean {
  const hit = rule.any.some((all) => all.every(([side, op, bound]) => compare(stored[side], op, bounds[bound])));
  return rule.negate ? !hit : hit;
}

function compare(a: number, op: Clause[1], b: number): boolean {
  switch (op) {
    case '<':
      return a < b;
    case '<=':
      return a <= b;
    case '>':
      return a > b;
    case '>=':
      return a >= b;
  }
}

/** Splits a search value on unescaped commas (OR) and unescapes \, \$ \| (https://hl7.org/fhir/R4/search.html#escaping). */
export function splitOr(value: string): string[] {
  return splitEscaped(value, ',');
}

export function splitEscaped(value: string, sep: ',' | '$' | '|'): string[] {
  const parts: string[] = [];
  let current = '';
  for (let i = 0; i < value.length; i++) {
    const c = value[i];
    if (c === '\\' && i + 1 < value.length) {
      current += c + value[++i];
    } else if (c === sep) {
      parts.push(current);
      current = '';
    } else {
      current += c;
    }
  }
  parts.push(current);
  return parts;
}

export function unescape(value: string): string {
  return value.replace(/\\([\\,$|])/g, '$1');
}

import { timestampText } from '../../store/timestamp-text.js';
import type { SqlWriter } from '../sql-writer.js';

/**
 * Comparison prefixes of number, date and quantity parameters (https://hl7.org/fhir/R4/search.html#prefix),
 * and the rules they set on a stored range, written once as data that the SQL builder (ruleSql) and
 * the in-memory matcher (evaluateRule) both read.
 */
const PREFIXES = ['eq', 'ne', 'gt', 'lt', 'ge', 'le', 'sa', 'eb', 'ap'] as const;
export type Prefix = (typeof PREFIXES)[number];

export function splitPrefix(value: string): { prefix: Prefix; rest: string } {
  const head = value.slice(0, 2);
  if ((PREFIXES as readonly string[]).includes(head) && /^[-+\d.]|^\d/.test(value.slice(2))) {
    return { prefix: head as Prefix, rest: value.slice(2) };
  }
  return { prefix: 'eq', rest: value };
}

/**
 * The condition a prefix sets on a stored range, for dates ([low, high) against the searched
 * [sl, sh)) and numbers (closed [low, high] against the searched value v and its precision range).
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

/** In memory: does the stored range satisfy the rule? */
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

/** SQL: the same rule on the stored range's columns. */
export function ruleSql(w: SqlWriter, rule: RangeRule, columns: { low: string; high: string }, bounds: Record<Bound, number>, cast: 'timestamptz' | 'numeric'): string {
  const literal = (n: number): string => `${w.p(cast === 'timestamptz' ? timestampText(n) : String(n))}::${cast}`;
  const clause = ([side, op, bound]: Clause): string => `${columns[side]} ${op} ${literal(bounds[bound])}`;
  const any = rule.any.map((all) => all.map(clause).join(' AND ')).join(') OR (');
  if (rule.negate) return `NOT ((${any}))`;
  return [`(${any})`, ...(rule.implied ?? []).map(clause)].join(' AND ');
}

/** The stored range's columns of the index row aliased x. */
export const rangeColumns = (x: string): { low: string; high: string } => ({ low: `${x}.low`, high: `${x}.high` });

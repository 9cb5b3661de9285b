import type { AnyRow, IndexRows } from '../index-rows.js';
import type { SearchParamDef } from '../registry.js';
import type { SqlWriter } from '../sql-writer.js';

/** The parameter types whose values are index rows (composite and special are built on them). */
export type RowTypeName = keyof IndexRows;

/** Where a parameter's rows live for a modifier (`:text` reads the string rows a token wrote), and which type compares them. */
export interface RowSource {
  kind: RowTypeName;
  param: string;
  type: RowTypeName;
}

/**
 * One search parameter type (https://hl7.org/fhir/R4/search.html#ptypes), Blaze-style: what it
 * indexes, the SQL condition a search value sets on one index row, and the same condition in
 * memory for subscription criteria. The two conditions sit side by side so they cannot drift apart.
 */
export interface SearchType {
  /** The index table of its rows. */
  readonly table: string;
  /** Modifiers it accepts (https://hl7.org/fhir/R4/search.html#modifiers). */
  readonly modifiers: readonly string[];
  /** Why a (non-empty) search value cannot be read, or undefined when it can. */
  check?(def: SearchParamDef, modifier: string | undefined, value: string): string | undefined;
  /** Adds the index rows of one value the parameter's FHIRPath expression gave (`valueType` is its FHIR type). */
  extract(rows: IndexRows, param: string, grp: number | null, valueType: string, value: any): void;
  /** Rows a modifier reads elsewhere; by default the parameter's own rows of this type. */
  source?(def: SearchParamDef, modifier: string | undefined): RowSource | undefined;
  /** SQL: the condition one OR-ed search value sets on the index row aliased `x`. */
  sql(w: SqlWriter, def: SearchParamDef, modifier: string | undefined, x: string, value: string): string;
  /** In memory: does the index row satisfy the value? The same condition as `sql`. */
  matches(def: SearchParamDef, modifier: string | undefined, row: AnyRow, value: string): boolean;
}

export function isText(v: unknown): v is string {
  return typeof v === 'string' && v.length > 0;
}

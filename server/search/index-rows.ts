/**
 * The index rows of one resource, one list per index table. Each parameter type (types/) writes
 * them; the SQL index stores them (index-writer.ts) and the in-memory matcher reads them directly,
 * so both engines compare the same values.
 */
interface RowBase {
  param: string;
  /** Which element of a composite the row came from; null outside composites. */
  grp: number | null;
}
export type StringRow = RowBase & { norm: string; exact: string };
export type TokenRow = RowBase & { system: string | null; code: string | null };
export type DateRow = RowBase & { low: number; high: number };
export type NumberRow = RowBase & { low: number; high: number };
export type QuantityRow = RowBase & { low: number; high: number; system: string | null; code: string | null; unit: string | null };
export type ReferenceRow = RowBase & { targetType: string | null; targetId: string | null; url: string };
export type UriRow = RowBase & { value: string };

export interface IndexRows {
  string: StringRow[];
  token: TokenRow[];
  date: DateRow[];
  number: NumberRow[];
  quantity: QuantityRow[];
  reference: ReferenceRow[];
  uri: UriRow[];
}

/** Any index row, as the type-independent code sees it. */
export type AnyRow = RowBase;

export function emptyRows(): IndexRows {
  return { string: [], token: [], date: [], number: [], quantity: [], reference: [], uri: [] };
}

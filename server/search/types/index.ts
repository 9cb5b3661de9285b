import type { TypedValue } from '@medplum/core';
import type { IndexRows } from '../index-rows.js';
import type { SearchParamDef } from '../registry.js';
import { date } from './date.js';
import { number } from './number.js';
import { quantity } from './quantity.js';
import { reference } from './reference.js';
import type { RowSource, RowTypeName, SearchType } from './search-type.js';
import { string } from './string.js';
import { token } from './token.js';
import { uri } from './uri.js';

/** The parameter types whose values are index rows, one file each; composite.ts and special.ts build on them. */
export const ROW_TYPES: Record<RowTypeName, SearchType> = { string, token, date, number, quantity, reference, uri };

export function rowType(type: string): SearchType | undefined {
  return ROW_TYPES[type as RowTypeName];
}

/** Where a parameter's rows live for a modifier: `:text` and `:identifier` read rows of another table; a composite is found by its first component. */
export function rowSource(def: SearchParamDef, modifier: string | undefined): RowSource {
  if (def.type === 'composite') {
    const first = def.components![0].def.type as RowTypeName;
    return { kind: first, param: `${def.code}#0`, type: first };
  }
  const type = def.type as RowTypeName;
  return ROW_TYPES[type].source?.(def, modifier) ?? { kind: type, param: def.code, type };
}

/** Adds the index rows of the values a parameter's expression gave, as its type indexes them. */
export function addValues(rows: IndexRows, type: string, param: string, grp: number | null, values: TypedValue[]): void {
  const handler = rowType(type);
  if (!handler) return;
  for (const { type: valueType, value } of values) {
    if (value !== undefined && value !== null) handler.extract(rows, param, grp, valueType, value);
  }
}

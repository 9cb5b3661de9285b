import type { FhirPathAtom, TypedValue } from '@medplum/core';
import type { AnyRow, IndexRows } from '../index-rows.js';
import type { SearchParamDef } from '../registry.js';
import type { SqlWriter } from '../sql-writer.js';
import { splitEscaped } from '../values.js';
import { addValues, rowType } from './index.js';

// Composite parameters (https://hl7.org/fhir/R4/search.html#composite): `a$b` matches when every
// component matches on the same element. Each component is indexed as its own type under
// `code#i`, and the rows of one element share `grp`.

/** Index rows of every component of every element the composite's expression gave. */
export function extractComposite(rows: IndexRows, def: SearchParamDef, elements: TypedValue[], evaluate: (expression: FhirPathAtom, element: TypedValue) => TypedValue[]): void {
  elements.forEach((element, grp) => {
    def.components!.forEach((component, i) => addValues(rows, component.def.type, `${def.code}#${i}`, grp, evaluate(component.expression, element)));
  });
}

/** SQL: the rows of the components joined on their element (`grp`), OR-ed over the values. */
export function compositeSql(w: SqlWriter, def: SearchParamDef, values: string[], r: string, resourceType: string): string {
  const components = def.components!;
  const aliases = components.map(() => w.alias('c'));
  const from = components
    .map((c, i) => {
      const table = rowType(c.def.type)!.table;
      if (i === 0) return `${table} ${aliases[0]}`;
      const a = aliases[i];
      return `JOIN ${table} ${a} ON ${a}.resource_type = ${aliases[0]}.resource_type AND ${a}.id = ${aliases[0]}.id AND ${a}.grp = ${aliases[0]}.grp AND ${a}.param = ${w.p(`${def.code}#${i}`)}`;
    })
    .join(' ');
  const any = values
    .map((value) => {
      const parts = splitEscaped(value, '$');
      return components.map((c, i) => `(${rowType(c.def.type)!.sql(w, c.def, undefined, aliases[i], parts[i])})`).join(' AND ');
    })
    .map((s) => `(${s})`)
    .join(' OR ');
  const c0 = aliases[0];
  return `${r}.id IN (SELECT ${c0}.id FROM ${from} WHERE ${c0}.resource_type = ${w.p(resourceType)} AND ${c0}.param = ${w.p(`${def.code}#0`)} AND (${any}))`;
}

/** In memory: some element whose every component row matches its part of the value. */
export function compositeMatches(rows: IndexRows, def: SearchParamDef, value: string): boolean {
  const parts = splitEscaped(value, '$');
  const components = def.components!;
  const rowsOf = (type: string): AnyRow[] => rows[type as keyof IndexRows];
  const groups = new Set(rowsOf(components[0].def.type).filter((r) => r.param === `${def.code}#0`).map((r) => r.grp));
  return [...groups].some((grp) =>
    components.every((c, i) => rowsOf(c.def.type).some((r) => r.param === `${def.code}#${i}` && r.grp === grp && rowType(c.def.type)!.matches(c.def, undefined, r, parts[i]))),
  );
}

import { evalFhirPathTyped, toTypedValue } from '@medplum/core';
import type { FhirPathAtom, TypedValue } from '@medplum/core';
import type { Resource } from '@medplum/fhirtypes';
import type { IndexRows } from './index-rows.js';
import { emptyRows } from './index-rows.js';
import type { SearchRegistry } from './registry.js';
import { extractComposite } from './types/composite.js';
import { addValues } from './types/index.js';
import { mayYield, presentElements } from './expression-roots.js';

// index-writer.ts reads the row shapes from here.
export type { IndexRows } from './index-rows.js';

/**
 * Evaluates every search parameter of the resource's type and converts the values to index rows,
 * each as its type indexes it (types/). The SQL index and the in-memory matcher both read these.
 */
export function extractRows(registry: SearchRegistry, resource: Resource, only?: Set<string>): IndexRows {
  const rows = emptyRows();
  const root = toTypedValue(resource);
  const variables = { '%resource': root, '%context': root };
  const evaluate = (expression: FhirPathAtom, input: TypedValue[]): TypedValue[] => {
    try {
      return evalFhirPathTyped(expression, input, variables);
    } catch {
      // An expression the FHIRPath engine cannot evaluate on this resource indexes nothing rather than failing the write.
      return [];
    }
  };
  const present = presentElements(resource);
  for (const def of registry.params(resource.resourceType)) {
    if (!def.expression || def.column || (only && !only.has(def.code))) continue;
    // A path from elements the resource does not have yields nothing: most parameters of a type, for most resources.
    if (!mayYield(def.roots, present)) continue;
    const values = evaluate(def.expression, [root]);
    if (def.type === 'composite') extractComposite(rows, def, values, (expression, element) => evaluate(expression, [element]));
    else addValues(rows, def.type, def.code, null, values);
  }
  return rows;
}

import { AsAtom, DotAtom, FhirPathAtom, FunctionAtom, IndexerAtom, SymbolAtom, UnionAtom } from '@medplum/core';
import type { Atom } from '@medplum/core';

/** Functions that give nothing for nothing: after them, a path from absent elements is still empty. */
const EMPTY_FOR_EMPTY = new Set(['where', 'select', 'ofType', 'first', 'last', 'distinct', 'extension', 'resolve', 'as']);

/**
 * The top-level elements of `resourceType` that an expression starts from, when it is a path from
 * the resource (`Patient.name.family`, `(Observation.value as Quantity)`, unions of such, with
 * functions that give nothing for nothing): a resource holding none of them yields no values. Undefined when the
 * expression could yield a value from nothing (`Patient.deceased.exists() and ...`, comparisons,
 * variables), so it must always be evaluated.
 */
export function rootElements(expression: Atom, resourceType: string): ReadonlySet<string> | undefined {
  const roots = (atom: Atom): string[] | undefined => {
    if (atom instanceof FhirPathAtom) return roots(atom.child);
    if (atom instanceof UnionAtom) {
      const [left, right] = [roots(atom.left), roots(atom.right)];
      return left && right ? [...left, ...right] : undefined;
    }
    if (atom instanceof AsAtom) return roots(atom.left);
    if (atom instanceof IndexerAtom) return roots(atom.left);
    if (!(atom instanceof DotAtom)) return undefined;
    if (atom.left instanceof SymbolAtom) return atom.left.name === resourceType && atom.right instanceof SymbolAtom ? [atom.right.name] : undefined;
    const step = atom.right;
    if (step instanceof SymbolAtom || (step instanceof FunctionAtom && EMPTY_FOR_EMPTY.has(step.name))) return roots(atom.left);
    return undefined;
  };
  const found = roots(expression);
  return found && new Set(found);
}

/**
 * Every name under which an element of the resource may be read: its keys, without the `_` of a
 * primitive's extensions, and each key cut before a capital too (`deceasedBoolean` is `deceased`
 * in a path). More names than elements only means more expressions evaluated.
 */
export function presentElements(resource: object): Set<string> {
  const names = new Set<string>();
  for (const key of Object.keys(resource)) {
    const name = key.startsWith('_') ? key.slice(1) : key;
    names.add(name);
    for (let i = 1; i < name.length; i++) if (name[i] >= 'A' && name[i] <= 'Z') names.add(name.slice(0, i));
  }
  return names;
}

/** Whether a parameter with these roots can yield values from a resource with these elements (no roots: always). */
export function mayYield(roots: ReadonlySet<string> | undefined, present: ReadonlySet<string>): boolean {
  if (!roots) return true;
  for (const root of roots) if (present.has(root)) return true;
  return false;
}

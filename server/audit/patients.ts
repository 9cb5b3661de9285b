import { evalFhirPathTyped, getParsedExpressionForResourceType, getSearchParameter, toTypedValue, type FhirPathAtom } from '@medplum/core';
import type { Resource } from '@medplum/fhirtypes';
import { patientCompartmentParams } from '../fhir/patient-compartment.js';
import { idOf } from '../fhir/reference.js';
import { mayYield, presentElements, rootElements } from '../search/expression-roots.js';

/** A compartment parameter's expression, with the top-level elements it reads (none known: always evaluated). */
interface CompartmentExpression {
  atom: FhirPathAtom;
  roots?: ReadonlySet<string>;
}

const expressions = new Map<string, CompartmentExpression[]>();

/**
 * The ids of the patients in whose compartment a resource is (https://hl7.org/fhir/R4/compartmentdefinition-patient.html):
 * a Patient itself, or the patients its compartment parameters reference. The parameters' expressions
 * come from @medplum/core's search parameter index, which the search registry fills at start.
 */
export function patientIdsOf(resource: Resource): string[] {
  const ids = new Set<string>();
  if (resource.resourceType === 'Patient' && resource.id) ids.add(resource.id);
  const root = toTypedValue(resource);
  for (const atom of compartmentExpressionsFor(resource)) {
    let values;
    try {
      values = evalFhirPathTyped(atom, [root], { '%resource': root, '%context': root });
    } catch {
      continue; // an expression that cannot evaluate on this resource names no patient
    }
    for (const { value } of values) {
      const id = typeof value?.reference === 'string' ? idOf(value.reference, 'Patient') : undefined;
      if (id) ids.add(id);
    }
  }
  return [...ids];
}

/**
 * The compartment expressions that may name a patient of this resource: as in index extraction, one
 * over elements the resource lacks names none and is not evaluated (a Patient without `link`).
 */
export function compartmentExpressionsFor(resource: Resource): FhirPathAtom[] {
  const present = presentElements(resource);
  return compartmentExpressions(resource.resourceType)
    .filter(({ roots }) => mayYield(roots, present))
    .map(({ atom }) => atom);
}

function compartmentExpressions(resourceType: string): CompartmentExpression[] {
  let found = expressions.get(resourceType);
  if (found) return found;
  const codes = patientCompartmentParams().get(resourceType) ?? [];
  found = [];
  for (const code of codes) {
    const expression = getSearchParameter(resourceType, code)?.expression;
    if (!expression) continue;
    const atom = getParsedExpressionForResourceType(resourceType, expression);
    found.push({ atom, roots: rootElements(atom, resourceType) });
  }
  // Remembered only once complete: before the registry has indexed the parameters there is nothing to find.
  if (found.length === codes.length) expressions.set(resourceType, found);
  return found;
}

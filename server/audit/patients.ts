import { evalFhirPathTyped, getParsedExpressionForResourceType, getSearchParameter, toTypedValue, type FhirPathAtom } from '@medplum/core';
import type { Resource } from '@medplum/fhirtypes';
import { patientCompartmentParams } from '../fhir/patient-compartment.js';
import { idOf } from '../fhir/reference.js';

const expressions = new Map<string, FhirPathAtom[]>();

/**
 * The ids of the patients in whose compartment a resource is (https://hl7.org/fhir/R4/compartmentdefinition-patient.html):
 * a Patient itself, or the patients its compartment parameters reference. The parameters' expressions
 * come from @medplum/core's search parameter index, which the search registry fills at start.
 */
export function patientIdsOf(resource: Resource): string[] {
  const ids = new Set<string>();
  if (resource.resourceType === 'Patient' && resource.id) ids.add(resource.id);
  const root = toTypedValue(resource);
  for (const expression of compartmentExpressions(resource.resourceType)) {
    let values;
    try {
      values = evalFhirPathTyped(expression, [root], { '%resource': root, '%context': root });
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

function compartmentExpressions(resourceType: string): FhirPathAtom[] {
  let found = expressions.get(resourceType);
  if (found) return found;
  const codes = patientCompartmentParams().get(resourceType) ?? [];
  found = [];
  for (const code of codes) {
    const expression = getSearchParameter(resourceType, code)?.expression;
    if (expression) found.push(getParsedExpressionForResourceType(resourceType, expression));
  }
  // Remembered only once complete: before the registry has indexed the parameters there is nothing to find.
  if (found.length === codes.length) expressions.set(resourceType, found);
  return found;
}

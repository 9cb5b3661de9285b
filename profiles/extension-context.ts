import type { StructureDefinitionContext } from '@medplum/fhirtypes';
import { conformance } from './conformance';

// Where an extension may be used: its StructureDefinition's `context`.
// https://hl7.org/fhir/R4/defining-extensions.html#context

/** Where an extension sits: the element holding it, by resource path and by data type. */
export interface ExtensionSite {
  /** `Patient.identifier` (no indices). */
  path: string;
  /** `Identifier`; for a primitive's `_x` element, the owning type's path (`ContactPoint.system`). */
  typePath: string;
  isResource: boolean;
  /** The url of the extension holding this one, for `extension` contexts. */
  parentExtension?: string;
}

let contexts = new Map<string, StructureDefinitionContext[] | undefined>();
let contextsFrom: object | undefined;

/** The contexts of an extension the packages define (UK Core, ours, FHIR_PACKAGES); undefined when not held. */
function contextsOf(url: string): StructureDefinitionContext[] | undefined {
  const held = conformance();
  if (contextsFrom !== held) {
    contexts = new Map();
    contextsFrom = held;
  }
  if (!contexts.has(url)) {
    const sd = held.structureDefinitions.get(url);
    contexts.set(url, sd?.type === 'Extension' && sd.context?.length ? sd.context : undefined);
  }
  return contexts.get(url);
}

/** Why the extension may not sit here, or undefined when it may (or its definition is not held, or its context is FHIRPath). */
export function extensionContextProblem(url: string, site: ExtensionSite): string | undefined {
  const allowed = contextsOf(url);
  if (!allowed) return undefined;
  for (const c of allowed) {
    const expression = (c.expression ?? '').replace(/\[x\]$/, '');
    if (c.type === 'fhirpath') return undefined;
    if (c.type === 'extension' && expression === site.parentExtension) return undefined;
    if (c.type !== 'element') continue;
    if (expression === 'Element' || expression === site.path || expression === site.typePath) return undefined;
    if (site.isResource && (expression === 'Resource' || expression === 'DomainResource')) return undefined;
  }
  const where = allowed.map((c) => c.expression).join(', ');
  return `The extension ${url} may be used on ${where}, not on ${site.path}`;
}

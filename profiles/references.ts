// Reference.reference: a local `#id`, an absolute URL or URN, a conditional `Type?criteria`
// (transactions), or relative `Type/id[/_history/vid]` naming a resource type this server knows.
// https://hl7.org/fhir/R4/references.html#literal

import { FHIR_ID as ID } from '../server/fhir/reference';

// Kept beside the one parser (server/fhir/reference.ts) because it explains why a reference is bad, not what it names.
const SCHEME = /^[A-Za-z][A-Za-z0-9+.-]*:/;

/** Why a reference is not one R4 allows, or undefined when it is. */
export function referenceProblem(reference: string, isResourceType: (type: string) => boolean): string | undefined {
  if (reference.startsWith('#') || SCHEME.test(reference)) return undefined;
  const conditional = /^([^/?]+)\?/.exec(reference);
  if (conditional) return isResourceType(conditional[1]) ? undefined : `'${reference}' names '${conditional[1]}', which is not an R4 resource type`;
  const [type, id, history, version, ...rest] = reference.split('/');
  if (!isResourceType(type)) return `'${reference}' names '${type}', which is not an R4 resource type`;
  if (!id) return `'${reference}' has no id after the resource type`;
  if (!ID.test(id)) return `'${reference}': '${id}' is not a resource id (1 to 64 letters, digits, '-' and '.')`;
  if (history === undefined) return undefined;
  if (history !== '_history' || !version || !ID.test(version) || rest.length) return `'${reference}' is not Type/id or Type/id/_history/version`;
  return undefined;
}

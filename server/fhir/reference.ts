// Reference.reference as R4 writes it, parsed in one place for every layer
// (https://hl7.org/fhir/R4/references.html#literal): `[base/]Type/id[/_history/version]`, a
// contained `#id`, a bundle-local `urn:uuid:` / `urn:oid:`, or a conditional `Type?criteria`.

/** A resource id (https://hl7.org/fhir/R4/datatypes.html#id); a version id has the same form. */
const ID = '[A-Za-z0-9\\-.]{1,64}';
export const FHIR_ID = new RegExp(`^${ID}$`);

/** The spec's literal-reference pattern: an optional absolute base, the type, the id, an optional version. */
const LITERAL = new RegExp(`^(?:([A-Za-z][A-Za-z0-9+.-]*://.*?)/)?([A-Z][A-Za-z]+)/(${ID})(?:/_history/(${ID}))?$`);

/** A literal reference: relative when `base` is absent. */
export interface LiteralReference {
  resourceType: string;
  id: string;
  version?: string;
  base?: string;
}

/** `Type/id`, `Type/id/_history/v`, or either below an absolute base; undefined for anything else. */
export function parseLiteral(reference: string): LiteralReference | undefined {
  const m = LITERAL.exec(reference);
  if (!m) return undefined;
  return { resourceType: m[2], id: m[3], ...(m[4] ? { version: m[4] } : {}), ...(m[1] ? { base: m[1] } : {}) };
}

/** A relative literal reference (`Type/id[/_history/v]`), as the search index keeps targets. */
export function parseRelative(reference: string): LiteralReference | undefined {
  const ref = parseLiteral(reference);
  return ref && ref.base === undefined ? ref : undefined;
}

/** A reference to a resource on this server: relative, or absolute on `baseUrl`. */
export function parseLocal(reference: string, baseUrl: string): LiteralReference | undefined {
  const ref = parseLiteral(reference);
  return ref && (ref.base === undefined || ref.base === baseUrl) ? ref : undefined;
}

/** The id of a literal reference (relative, or absolute on any base) to a resource of `type`. */
export function idOf(reference: string | undefined, type: string): string | undefined {
  const ref = reference ? parseLiteral(reference) : undefined;
  return ref?.resourceType === type ? ref.id : undefined;
}

/** `urn:uuid:...` and `urn:oid:...`: bundle-local identities replaced on write (https://hl7.org/fhir/R4/bundle.html#references). */
export const isBundleLocal = (reference: string): boolean => reference.startsWith('urn:uuid:') || reference.startsWith('urn:oid:');

/** `#id`: a resource contained in the referring one (https://hl7.org/fhir/R4/references.html#contained). */
export function containedId(reference: string): string | undefined {
  return reference.startsWith('#') ? reference.slice(1) : undefined;
}

/** `Patient?identifier=...`: a conditional reference (https://hl7.org/fhir/R4/http.html#trules). */
export function conditionalReference(reference: string): { type: string; criteria: URLSearchParams } | undefined {
  const m = /^([A-Z][A-Za-z]+)\?(.*)$/.exec(reference);
  return m ? { type: m[1], criteria: new URLSearchParams(m[2]) } : undefined;
}

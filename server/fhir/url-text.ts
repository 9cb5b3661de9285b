/**
 * Control characters other than tab, CR and LF: no FHIR string, id or code holds one
 * (https://hl7.org/fhir/R4/datatypes.html#string), and PostgreSQL's text and jsonb take no NUL.
 */
const CONTROL = /[\u0000-\u0008\u000B\u000C\u000E-\u001F]/;

export function hasControlCharacter(text: string): boolean {
  return CONTROL.test(text);
}

/** A URL path segment, percent-decoded; undefined when its percent-encoding is malformed. */
export function decodedSegment(segment: string): string | undefined {
  // Most segments (types, ids) have nothing to decode.
  if (!segment.includes('%')) return segment;
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}

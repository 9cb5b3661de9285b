import { badRequest } from '../errors.js';
import { decodedSegment, hasControlCharacter } from '../fhir/url-text.js';
import type { FhirRequest } from './request.js';

/** One segment of a request's path, decoded: a 400 for malformed percent-encoding or a control character, which could match nothing and must not reach the database. */
export function pathSegment(segment: string): string {
  const decoded = decodedSegment(segment);
  if (decoded === undefined) throw badRequest(`The URL's path segment '${segment}' is not valid percent-encoding`);
  if (hasControlCharacter(decoded)) throw badRequest(`The URL's path segment '${segment}' holds a control character, which no FHIR type, id or operation name does`);
  return decoded;
}

/** A 400 when a parameter's name or value holds a control character; `where` says whose parameters they are. */
export function refuseControlCharacters(params: URLSearchParams, where: string): void {
  for (const [name, value] of params) {
    if (hasControlCharacter(name) || hasControlCharacter(value)) throw badRequest(`${where} ${JSON.stringify(name)} holds a control character, which no FHIR value does`);
  }
}

/** The request's path segments, decoded, after checking its parameters (query and form body) hold no control character. */
export function requestSegments(req: FhirRequest): string[] {
  refuseControlCharacters(req.query, 'The parameter');
  if (req.body instanceof URLSearchParams) refuseControlCharacters(req.body, 'The parameter');
  return req.path.split('/').filter(Boolean).map(pathSegment);
}

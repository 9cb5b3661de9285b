import { notSupported } from '../errors.js';

const JSON_TYPES = new Set(['application/fhir+json', 'application/json', 'json', 'application/json+fhir', 'text/json']);
const XML_TYPES = /xml|turtle|ttl|html/i;

/**
 * JSON only: https://hl7.org/fhir/R4/http.html#mime-type. `_format` wins over Accept; asking only for
 * a format we don't produce (XML, Turtle) is 406.
 */
export function checkAcceptable(format: string | undefined, accept: string | undefined): void {
  if (format) {
    const f = format.split(';')[0].trim().toLowerCase();
    if (!JSON_TYPES.has(f)) throw notSupported(406, `_format=${format} is not supported; this server speaks application/fhir+json only`);
    return;
  }
  if (!accept) return;
  const ranges = accept.split(',');
  const types = ranges.map((t) => t.split(';')[0].trim().toLowerCase());
  const ok = ranges.some((range, i) => (JSON_TYPES.has(types[i]) && isR4(range)) || types[i] === '*/*' || types[i] === 'application/*' || types[i] === '');
  if (!ok && types.some((t, i) => XML_TYPES.test(t) || !isR4(ranges[i]))) {
    throw notSupported(406, `Accept: ${accept} is not supported; this server speaks application/fhir+json, FHIR 4.0, only`);
  }
}

/** A media type's fhirVersion parameter, if any, names R4 (https://hl7.org/fhir/R4/http.html#version-parameter). */
function isR4(mediaType: string): boolean {
  const version = /;\s*fhirVersion\s*=\s*"?([^";,\s]+)/i.exec(mediaType)?.[1];
  return version === undefined || version === '4.0' || version === '4.0.1';
}

/** Body media types we read; anything else is 415. */
export type BodyKind = 'json' | 'json-patch' | 'form';
export function bodyKind(contentType: string | undefined): BodyKind | undefined {
  if (!contentType) return undefined;
  const t = contentType.split(';')[0].trim().toLowerCase();
  if (t === 'application/json-patch+json') return 'json-patch';
  if (t === 'application/x-www-form-urlencoded') return 'form';
  if (JSON_TYPES.has(t) && isR4(contentType)) return 'json';
  throw notSupported(415, `Content-Type ${contentType} is not supported; send application/fhir+json`);
}

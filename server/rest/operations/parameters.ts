import type { Parameters, ParametersParameter } from '@medplum/fhirtypes';
import { badRequest } from '../../errors.js';
import { hasControlCharacter } from '../../fhir/url-text.js';
import type { FhirRequest } from '../request.js';

/**
 * An operation's simple parameters, from the query string and/or a Parameters body
 * (https://hl7.org/fhir/R4/operations.html#request), as strings.
 */
export function operationParams(req: FhirRequest): URLSearchParams {
  const params = new URLSearchParams(req.query);
  for (const p of parametersBody(req)?.parameter ?? []) {
    const value = primitiveValue(p);
    if (value !== undefined) params.append(p.name, value);
  }
  return params;
}

/** The Parameters body of an operation, if one was sent. */
export function parametersBody(req: FhirRequest): Parameters | undefined {
  if (req.body === undefined || req.body instanceof URLSearchParams) return undefined;
  const body = req.body as { resourceType?: unknown; parameter?: unknown } | null;
  if (typeof body !== 'object' || body === null || body.resourceType !== 'Parameters') {
    throw badRequest(`An operation takes a Parameters resource as its body, not ${typeof body?.resourceType === 'string' ? body.resourceType : 'this'}`, 'resourceType');
  }
  // Its shape, before any operation reads it: a list of objects, each named.
  if (body.parameter !== undefined && !Array.isArray(body.parameter)) throw badRequest('Parameters.parameter must be an array', 'Parameters.parameter');
  const unnamed = ((body.parameter ?? []) as unknown[]).findIndex((p) => typeof p !== 'object' || p === null || typeof (p as ParametersParameter).name !== 'string');
  if (unnamed >= 0) throw badRequest(`Parameters.parameter[${unnamed}] must be an object with a name`, `Parameters.parameter[${unnamed}]`);
  const controlled = ((body.parameter ?? []) as ParametersParameter[]).findIndex((p) => Object.entries(p).some(([k, v]) => k.startsWith('value') && typeof v === 'string' && hasControlCharacter(v)));
  if (controlled >= 0) throw badRequest(`Parameters.parameter[${controlled}] holds a control character, which no FHIR value does`, `Parameters.parameter[${controlled}]`);
  return body as Parameters;
}

/** A parameter's value as a query string carries it: a primitive, or a Reference as its reference (Bulk Data's `patient`). */
function primitiveValue(p: ParametersParameter): string | undefined {
  for (const [k, v] of Object.entries(p)) {
    if (k.startsWith('value') && (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean')) return String(v);
    if (k === 'valueReference' && typeof p.valueReference?.reference === 'string') return p.valueReference.reference;
  }
  return undefined;
}

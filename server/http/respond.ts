import type { Response } from 'express';
import type { Resource } from '@medplum/fhirtypes';
import { issue, outcome } from '../errors.js';
import type { FhirResponse } from '../rest/request.js';

export const FHIR_JSON = 'application/fhir+json; charset=utf-8';

export interface Preferences {
  return?: 'minimal' | 'representation' | 'OperationOutcome';
  strict: boolean;
  /** Prefer: respond-async (https://hl7.org/fhir/uv/bulkdata/export.html#headers). */
  respondAsync: boolean;
}

/** Prefer header: https://hl7.org/fhir/R4/http.html#ops and search.html#errors (handling). */
export function parsePrefer(header: string | undefined): Preferences {
  const prefs: Preferences = { strict: false, respondAsync: false };
  for (const token of (header ?? '').split(/[,;]/)) {
    const [k, v] = token.split('=').map((s) => s?.trim().replace(/^"|"$/g, ''));
    if (k === 'return' && (v === 'minimal' || v === 'representation' || v === 'OperationOutcome')) prefs.return = v;
    if (k === 'handling') prefs.strict = v === 'strict';
    if (k === 'respond-async') prefs.respondAsync = true;
  }
  return prefs;
}

/** Applies Prefer: return= to the body of a write (https://hl7.org/fhir/R4/http.html#ops). */
export function preferredBody(res: FhirResponse, preference: Preferences['return']): FhirResponse['body'] {
  if (!res.written || !preference || preference === 'representation') return res.body;
  if (preference === 'minimal') return undefined;
  const done = issue('informational', `${res.status === 201 ? 'Created' : 'Updated'} ${res.headers?.Location ?? res.headers?.['Content-Location'] ?? ''}`.trim(), undefined, 'information');
  return outcome(done, ...(res.notes ?? []));
}

export function send(res: Response, status: number, body: Resource | string | undefined, headers: Record<string, string>, pretty: boolean, head = false): void {
  if (res.headersSent) return; // answered already (the request timed out): the late answer is dropped
  res.status(status);
  for (const [k, v] of Object.entries(headers)) res.setHeader(k, v);
  if (body === undefined || status === 304) {
    res.end();
    return;
  }
  res.setHeader('Content-Type', FHIR_JSON);
  let text = typeof body === 'string' ? body : JSON.stringify(body);
  if (pretty) text = JSON.stringify(JSON.parse(text), null, 2);
  res.setHeader('Content-Length', Buffer.byteLength(text));
  if (head) res.end();
  else res.end(text);
}

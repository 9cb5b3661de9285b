import type { Writer } from '../store/store.js';

/**
 * Who is calling: the registered client an access token was issued to, the member organisation it
 * acts for (ODS code) and the SMART scopes granted. Every FHIR interaction runs on behalf of one;
 * its writes are made for it (the store's Writer).
 */
export interface Principal extends Writer {
  /** The member kind, whose access policy applies. */
  kind: ClientKind;
  /** Granted SMART scopes as in the token, e.g. `system/Patient.rs`, `system/*.read`. */
  scopes: string[];
}

/** Member kinds with a declarative access policy (server/access/policies/<kind>.json). */
export const CLIENT_KINDS = ['admin', 'gp-practice', 'care-provider', 'pharmacy', 'voluntary'] as const;
export type ClientKind = (typeof CLIENT_KINDS)[number];

export function isClientKind(value: string): value is ClientKind {
  return (CLIENT_KINDS as readonly string[]).includes(value);
}

/** The ODS code system: organisations are named by it in tokens, policies and references. */
export const ODS_SYSTEM = 'https://fhir.nhs.uk/Id/ods-organization-code';

import type { CapabilityStatement } from '@medplum/fhirtypes';
import { authUrls } from './urls.js';

/**
 * Tells clients reading /metadata how to authenticate (https://hl7.org/fhir/smart-app-launch/conformance.html):
 * the SMART-on-FHIR security service and the token endpoint in the oauth-uris extension.
 */
export function smartSecurity(statement: CapabilityStatement): void {
  const urls = authUrls(statement.implementation?.url ?? '');
  statement.rest![0].security = {
    cors: false,
    service: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/restful-security-service', code: 'SMART-on-FHIR' }], text: 'SMART Backend Services (OAuth 2.0 client_credentials, private_key_jwt RS384/ES384)' }],
    description: 'Every request except /metadata and /.well-known needs a bearer access token from the token endpoint. What a client sees is limited by its SMART system scopes and its organisation\'s access policy; reads outside the policy are 404, writes 403.',
    extension: [{ url: 'http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris', extension: [{ url: 'token', valueUri: urls.tokenEndpoint }] }],
  };
}

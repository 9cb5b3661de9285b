import type express from 'express';
import { methodNotAllowed } from '../errors.js';
import { ASSERTION_ALGS } from './client-assertion.js';
import type { SigningKeys } from './signing-keys.js';
import { authUrls } from './urls.js';

const SCOPES_SUPPORTED = ['system/*.cruds', 'system/*.rs', 'system/*.read', 'system/*.write', 'system/*.*'];

/**
 * SMART discovery (https://hl7.org/fhir/smart-app-launch/conformance.html), at the root and under
 * the FHIR base (clients look for it relative to the base), and the server's public token keys.
 */
export function mountWellKnown(app: express.Express, keys: SigningKeys, baseUrl: () => string): void {
  const discovery = ['/.well-known/smart-configuration', '/fhir/.well-known/smart-configuration'];
  app.get(discovery, (_req, res) => {
    const urls = authUrls(baseUrl());
    res.set('Cache-Control', 'public, max-age=300').json({
      issuer: urls.issuer,
      jwks_uri: urls.jwksUri,
      token_endpoint: urls.tokenEndpoint,
      token_endpoint_auth_methods_supported: ['private_key_jwt', 'client_secret_basic'],
      token_endpoint_auth_signing_alg_values_supported: ASSERTION_ALGS,
      grant_types_supported: ['client_credentials'],
      scopes_supported: SCOPES_SUPPORTED,
      capabilities: ['client-confidential-asymmetric', 'permission-v2', 'permission-v1'],
    });
  });
  // Short cache: a rotated key must reach verifiers well within a token lifetime.
  app.get('/.well-known/jwks.json', (_req, res) => {
    res.set('Cache-Control', 'public, max-age=60').json({ keys: keys.publicJwks() });
  });
  app.all([...discovery, '/.well-known/jwks.json'], (req, _res, next) => next(methodNotAllowed(`${req.path} is a document to GET`, ['GET', 'HEAD'])));
}

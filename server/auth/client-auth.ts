import type { Queryable } from '../store/db.js';
import { recordAssertionId } from './assertion-ids.js';
import { assertionIssuer, verifyClientAssertion } from './client-assertion.js';
import type { ClientCredentials, ClientRegistry } from './clients.js';
import { OAuthError } from './oauth-error.js';
import { verifySecret } from './secrets.js';

const JWT_BEARER = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

export interface ClientAuthDeps {
  db: Queryable;
  clients: ClientRegistry;
  tokenEndpoint: string;
  /** Told the client id a request claims before it is checked, so failures are audited against it. */
  onClaim(clientId: string): void;
}

/**
 * The client a token request comes from, authenticated by exactly one method: private_key_jwt
 * (client_assertion) or client_secret_basic (Authorization: Basic). Throws invalid_client or invalid_request.
 */
export async function authenticateClient(authorization: string | undefined, form: URLSearchParams, deps: ClientAuthDeps): Promise<ClientCredentials> {
  const assertion = form.get('client_assertion');
  const basic = /^Basic\s+(\S+)$/i.exec(authorization ?? '');
  if (assertion && basic) throw new OAuthError('invalid_request', 'Use one client authentication method: client_assertion or HTTP Basic, not both');
  if (basic) return bySecret(basic[1], deps);
  if (!assertion) throw new OAuthError('invalid_client', 'Client authentication is missing: send client_assertion (private_key_jwt) or HTTP Basic credentials');
  if (form.get('client_assertion_type') !== JWT_BEARER) throw new OAuthError('invalid_request', `client_assertion_type must be ${JWT_BEARER}`);
  return byAssertion(assertion, form.get('client_id'), deps);
}

async function byAssertion(assertion: string, formClientId: string | null, deps: ClientAuthDeps): Promise<ClientCredentials> {
  let clientId: string;
  try {
    clientId = assertionIssuer(assertion);
  } catch {
    throw new OAuthError('invalid_client', 'The client assertion is not a JWT with an iss claim');
  }
  if (formClientId && formClientId !== clientId) throw new OAuthError('invalid_client', 'client_id differs from the iss of the client assertion');
  const client = await activeClient(clientId, deps);
  if (!client.jwks) throw new OAuthError('invalid_client', 'This client has no registered JWKS; it authenticates with client_secret_basic');
  let checked: { jti: string; exp: number };
  try {
    checked = await verifyClientAssertion(assertion, client.id, client.jwks, deps.tokenEndpoint);
  } catch (err) {
    throw new OAuthError('invalid_client', `The client assertion is not acceptable: ${(err as Error).message}`);
  }
  if (!(await recordAssertionId(deps.db, client.id, checked.jti, checked.exp))) {
    throw new OAuthError('invalid_client', 'The client assertion was already used (jti seen before): sign a new one for every request');
  }
  return client;
}

async function bySecret(credentials: string, deps: ClientAuthDeps): Promise<ClientCredentials> {
  // RFC 6749 section 2.3.1: id and secret are form-urlencoded before base64.
  const decoded = Buffer.from(credentials, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  let id: string;
  let secret: string;
  try {
    if (colon < 0) throw new Error('no colon');
    id = decodeURIComponent(decoded.slice(0, colon).replace(/\+/g, ' '));
    secret = decodeURIComponent(decoded.slice(colon + 1).replace(/\+/g, ' '));
  } catch {
    throw new OAuthError('invalid_client', 'The Basic credentials are not client_id:client_secret');
  }
  const client = await activeClient(id, deps);
  if (!client.secretHash || !(await verifySecret(secret, client.secretHash))) throw new OAuthError('invalid_client', 'The client secret is wrong');
  return client;
}

async function activeClient(id: string, deps: ClientAuthDeps): Promise<ClientCredentials> {
  deps.onClaim(id);
  const client = await deps.clients.credentials(id);
  if (!client) throw new OAuthError('invalid_client', `Unknown client '${id}'`);
  if (client.revoked) throw new OAuthError('invalid_client', 'This client has been revoked');
  return client;
}

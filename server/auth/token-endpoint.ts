import express, { type Request } from 'express';
import type { Logger } from '../logger.js';
import type { Queryable } from '../store/db.js';
import { signAccessToken } from './access-tokens.js';
import { authorizationOf } from './authorization-header.js';
import { authenticateClient } from './client-auth.js';
import type { ClientRegistry } from './clients.js';
import { OAuthError } from './oauth-error.js';
import type { SigningKeys } from './signing-keys.js';
import { grantScopes } from './token-scopes.js';
import { authUrls } from './urls.js';

/** One token request, successful or not, for the audit trail. */
export interface TokenAuditRecord {
  clientId?: string;
  org?: string;
  kind?: string;
  outcome: 'success' | 'failure';
  scopes?: string[];
  reason?: string;
  sourceAddress?: string;
}

export interface TokenEndpointDeps {
  db: Queryable;
  clients: ClientRegistry;
  keys: SigningKeys;
  baseUrl: () => string;
  ttlSeconds: number;
  audit: (record: TokenAuditRecord) => Promise<void>;
  log: Logger;
}

interface TokenResponse {
  access_token: string;
  token_type: 'bearer';
  expires_in: number;
  scope: string;
}

/** POST /oauth2/token: the client_credentials grant of SMART Backend Services. */
export function mountTokenEndpoint(app: express.Express, deps: TokenEndpointDeps): void {
  const readForm = express.text({ type: 'application/x-www-form-urlencoded', limit: '64kb' });
  // A body the parser refuses is answered (and audited) as the token request it was, not as a FHIR error.
  const formOrRefusal: express.RequestHandler = (req, res, next) =>
    readForm(req, res, (err?: unknown) => {
      if (err) res.locals.formRefusal = formRefusal(err);
      next();
    });
  app.post('/oauth2/token', formOrRefusal, async (req, res) => {
    const record: TokenAuditRecord = { outcome: 'failure', sourceAddress: req.ip };
    let status = 200;
    let body: TokenResponse | { error: string; error_description: string };
    try {
      if (res.locals.formRefusal) throw res.locals.formRefusal;
      body = await issue(req, deps, record);
      record.outcome = 'success';
    } catch (err) {
      const oauth = err instanceof OAuthError ? err : undefined;
      if (!oauth) deps.log.error({ err }, 'token request failed');
      status = oauth?.status ?? 500;
      body = oauth ? { error: oauth.error, error_description: oauth.description } : { error: 'server_error', error_description: 'Internal error' };
      record.reason = body.error_description;
    }
    try {
      await deps.audit(record);
    } catch (err) {
      deps.log.error({ err }, 'could not audit a token request');
    }
    // Tokens and their errors must never be cached (RFC 6749 section 5.1).
    res.set({ 'Cache-Control': 'no-store', Pragma: 'no-cache' });
    if (status === 401) res.set('WWW-Authenticate', 'Basic realm="oauth2"');
    res.status(status).json(body);
  });
  app.all('/oauth2/token', (_req, res) => {
    res.status(405).set({ Allow: 'POST', 'Cache-Control': 'no-store' }).json({ error: 'invalid_request', error_description: 'The token endpoint takes POST' });
  });
}

/** The body parser's refusal (too large, an encoding it cannot undo, a broken body) as an RFC 6749 error. */
function formRefusal(err: unknown): OAuthError {
  const { status, message } = err as { status?: number; message?: string };
  const known = typeof status === 'number' && status >= 400 && status < 500;
  return new OAuthError('invalid_request', `The body could not be read: ${known && message ? message : 'it is not application/x-www-form-urlencoded'}`, known ? status : 400);
}

async function issue(req: Request, deps: TokenEndpointDeps, record: TokenAuditRecord): Promise<TokenResponse> {
  if (typeof req.body !== 'string') throw new OAuthError('invalid_request', 'The body must be application/x-www-form-urlencoded');
  const form = new URLSearchParams(req.body);
  const repeated = [...new Set(form.keys())].find((name) => form.getAll(name).length > 1);
  if (repeated) throw new OAuthError('invalid_request', `${repeated} is given more than once`);
  const grantType = form.get('grant_type');
  if (!grantType) throw new OAuthError('invalid_request', 'grant_type is missing');
  if (grantType !== 'client_credentials') throw new OAuthError('unsupported_grant_type', `Only client_credentials is supported; got '${grantType}'`);
  const urls = authUrls(deps.baseUrl());
  const client = await authenticateClient(authorizationOf(req), form, {
    db: deps.db,
    clients: deps.clients,
    tokenEndpoint: urls.tokenEndpoint,
    onClaim: (clientId) => (record.clientId = clientId),
  });
  Object.assign(record, { clientId: client.id, org: client.org, kind: client.kind });
  const asked = form.get('scope')?.trim();
  const scopes = grantScopes(asked ? asked.split(/\s+/) : undefined, client.scopes);
  if (!scopes.length) throw new OAuthError('invalid_scope', `None of the requested scopes is allowed for this client; it may have ${client.scopes.join(' ')}`);
  record.scopes = scopes;
  const principal = { clientId: client.id, org: client.org, kind: client.kind, scopes };
  const token = await signAccessToken(deps.keys, principal, urls, deps.ttlSeconds);
  await deps.clients.tokenIssued(client.id);
  return { access_token: token, token_type: 'bearer', expires_in: deps.ttlSeconds, scope: scopes.join(' ') };
}

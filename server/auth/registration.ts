import express from 'express';
import type { JSONWebKeySet } from 'jose';
import { badRequest, forbidden, methodNotAllowed, notFound } from '../errors.js';
import { authorizationOf } from './authorization-header.js';
import type { ClientRegistry } from './clients.js';
import type { Principal } from './principal.js';
import { generateSecret } from './secrets.js';
import { authUrls } from './urls.js';

/**
 * Registers a client from the CLI's or the API's fields; `secret: true` generates a client secret,
 * shown once. Both hand back the same: the client id, the secret, the token endpoint.
 */
export async function registerClient(clients: ClientRegistry, fields: { org?: unknown; kind?: unknown; scopes?: unknown; jwks?: unknown; secret?: unknown }, baseUrl: string): Promise<Record<string, unknown>> {
  const scopes = Array.isArray(fields.scopes) ? fields.scopes.map(String) : typeof fields.scopes === 'string' ? fields.scopes.split(/\s+/).filter(Boolean) : [];
  if (!!fields.jwks === !!fields.secret) throw new Error('give exactly one of jwks (public keys for private_key_jwt) and secret: true (client_secret_basic)');
  const secret = fields.secret ? generateSecret() : undefined;
  // Not coerced: ["A1"] is not the ODS code A1.
  for (const name of ['org', 'kind'] as const) if (fields[name] !== undefined && typeof fields[name] !== 'string') throw new Error(`${name} must be a string`);
  const client = await clients.create({ org: String(fields.org ?? ''), kind: String(fields.kind ?? ''), scopes, ...(fields.jwks ? { jwks: fields.jwks as JSONWebKeySet } : {}), ...(secret ? { secret } : {}) });
  return { client_id: client.id, ...(secret ? { client_secret: secret } : {}), token_endpoint: authUrls(baseUrl).tokenEndpoint, kind: client.kind, org: client.org, scopes: client.scopes };
}

/**
 * Client registration over HTTP for administrator clients, so a running server (embedded PGlite
 * included, which the CLI cannot open beside it) can take on new members: POST /oauth2/clients,
 * GET /oauth2/clients, DELETE /oauth2/clients/{id}.
 */
export function mountClientRegistration(app: express.Express, deps: { clients: ClientRegistry; authenticate(header: string | undefined): Promise<Principal>; baseUrl: () => string }): void {
  const admin = async (req: express.Request): Promise<void> => {
    const principal = await deps.authenticate(authorizationOf(req));
    if (principal.kind !== 'admin') throw forbidden('Only administrator clients may register, list or revoke clients');
  };
  const handle = (fn: (req: express.Request, res: express.Response) => Promise<void>): express.RequestHandler => (req, res, next) => fn(req, res).catch(next);
  app.post(
    '/oauth2/clients',
    express.json({ limit: '64kb' }),
    handle(async (req, res) => {
      await admin(req);
      let created: Record<string, unknown>;
      try {
        created = await registerClient(deps.clients, (req.body ?? {}) as Record<string, unknown>, deps.baseUrl());
      } catch (err) {
        throw badRequest(`The client registration is not valid: ${(err as Error).message}`);
      }
      res.status(201).set('Cache-Control', 'no-store').json(created);
    }),
  );
  app.get(
    '/oauth2/clients',
    handle(async (req, res) => {
      await admin(req);
      res.json(await deps.clients.list());
    }),
  );
  app.delete(
    '/oauth2/clients/:id',
    handle(async (req, res) => {
      await admin(req);
      if (!(await deps.clients.revoke(String(req.params.id)))) throw notFound(`No active client ${req.params.id}`);
      res.status(204).end();
    }),
  );
  app.all('/oauth2/clients', (_req, _res, next) => next(methodNotAllowed('Clients are registered with POST and listed with GET', ['GET', 'HEAD', 'POST'])));
  app.all('/oauth2/clients/:id', (_req, _res, next) => next(methodNotAllowed('A client is revoked with DELETE', ['DELETE'])));
}

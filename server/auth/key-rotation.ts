import type express from 'express';
import { forbidden, methodNotAllowed } from '../errors.js';
import { logger } from '../logger.js';
import { authorizationOf } from './authorization-header.js';
import type { Principal } from './principal.js';

/**
 * POST /oauth2/signing-keys for administrator clients: the same rotation as `npm run client --
 * rotate-key`, reachable beside a running server on embedded PGlite (which the CLI cannot open)
 * and from the operator console. The old key verifies until the tokens it signed expire.
 */
export function mountKeyRotation(app: express.Express, deps: { authenticate(header: string | undefined): Promise<Principal>; rotateKey(): Promise<string> }): void {
  app.post('/oauth2/signing-keys', (req, res, next) => {
    (async () => {
      const principal = await deps.authenticate(authorizationOf(req));
      if (principal.kind !== 'admin') throw forbidden('Only administrator clients may rotate the signing key');
      const kid = await deps.rotateKey();
      logger.warn({ kid, clientId: principal.clientId }, 'access token signing key rotated');
      res.status(201).set('Cache-Control', 'no-store').json({ kid });
    })().catch(next);
  });
  app.all('/oauth2/signing-keys', (_req, _res, next) => next(methodNotAllowed('A new signing key is made with POST', ['POST'])));
}

import type express from 'express';
import type { Config } from '../config.js';
import { unauthorized } from '../errors.js';
import { logger } from '../logger.js';
import type { Db } from '../store/db.js';
import { verifyAccessToken } from './access-tokens.js';
import { VerifiedTokens } from './verified-tokens.js';
import { purgeAssertionIds } from './assertion-ids.js';
import { ADMIN_SCOPES, ensureAdminClient } from './bootstrap-admin.js';
import { CLOCK_SKEW_SECONDS } from './client-assertion.js';
import { ClientRegistry } from './clients.js';
import type { Principal } from './principal.js';
import { rotateSigningKey, SigningKeys } from './signing-keys.js';
import { mountKeyRotation } from './key-rotation.js';
import { mountClientRegistration } from './registration.js';
import { mountTokenEndpoint, type TokenAuditRecord } from './token-endpoint.js';
import { authUrls } from './urls.js';
import { mountWellKnown } from './well-known.js';

export type { TokenAuditRecord };

export interface AuthRuntime {
  /** The principal of an `Authorization: Bearer` access token; throws a 401 FhirError otherwise. */
  authenticate(authorizationHeader: string | undefined): Promise<Principal>;
  /** Mounts /oauth2/token and the .well-known documents; call before the /fhir handler. */
  mount(app: express.Express): void;
  clients: ClientRegistry;
  /** Makes a new signing key the signer; the old one verifies until its tokens expire. Returns the new kid. */
  rotateKey(): Promise<string>;
  close(): Promise<void>;
}

// Keys are reloaded (another process may have rotated) and used assertion ids purged this often.
const MAINTENANCE_MS = 60_000;

/** Authentication of this process: SMART Backend Services tokens, the client registry, signing keys. */
export async function createAuthRuntime(opts: { db: Db; config: Config; audit?: (e: TokenAuditRecord) => Promise<void> }): Promise<AuthRuntime> {
  const { db, config } = opts;
  const baseUrl = (): string => config.baseUrl;
  const clients = new ClientRegistry(db);
  const verified = new VerifiedTokens();
  // A retired key verifies for a token lifetime after its last possible use: another process signs with it until its next reload.
  const keys = await new SigningKeys(db, () => config.auth.accessTokenTtlSeconds * 1000 + MAINTENANCE_MS).open();
  if (!config.auth.disabled) {
    const file = await ensureAdminClient(db, clients, { org: config.auth.adminOrg, file: config.auth.adminCredentialsFile, tokenEndpoint: authUrls(baseUrl()).tokenEndpoint });
    if (file) logger.warn({ file }, `administrator client credentials written to ${file} (readable only by its owner)`);
  }
  const maintenance = setInterval(() => {
    Promise.all([keys.load(), purgeAssertionIds(db, CLOCK_SKEW_SECONDS)]).catch((err) => logger.warn({ err }, 'auth maintenance failed'));
  }, MAINTENANCE_MS).unref();
  const audit = opts.audit ?? (async (record: TokenAuditRecord) => logger.info(record, 'token request'));

  const runtime: AuthRuntime = {
    clients,
    async authenticate(header) {
      if (config.auth.disabled) return { clientId: 'auth-disabled', org: config.auth.adminOrg, kind: 'admin', scopes: ADMIN_SCOPES };
      const token = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '')?.[1];
      if (!token) throw unauthorized('login', 'This server needs an access token (Authorization: Bearer) from /oauth2/token (SMART Backend Services)');
      let principal = verified.get(token);
      try {
        principal ??= verified.add(token, await verifyAccessToken(keys, token, authUrls(baseUrl())));
      } catch (err) {
        if ((err as { code?: string }).code === 'ERR_JWT_EXPIRED') throw unauthorized('expired', 'The access token has expired: request a new one');
        throw unauthorized('security', `The access token is not valid: ${(err as Error).message}`);
      }
      const client = await clients.get(principal.clientId);
      if (!client || client.revoked) throw unauthorized('security', 'The client this access token was issued to has been revoked');
      return principal;
    },
    mount(app) {
      mountWellKnown(app, keys, baseUrl);
      mountTokenEndpoint(app, { db, clients, keys, baseUrl, ttlSeconds: config.auth.accessTokenTtlSeconds, audit, log: logger });
      mountClientRegistration(app, { clients, authenticate: (header) => runtime.authenticate(header), baseUrl });
      mountKeyRotation(app, { authenticate: (header) => runtime.authenticate(header), rotateKey: () => runtime.rotateKey() });
    },
    async rotateKey() {
      const kid = await rotateSigningKey(db);
      await keys.load();
      return kid;
    },
    async close() {
      clearInterval(maintenance);
    },
  };
  return runtime;
}

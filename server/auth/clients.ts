import { createPublicKey, randomUUID, type JsonWebKey } from 'node:crypto';
import { createLocalJWKSet, type JSONWebKeySet } from 'jose';
import type { Queryable } from '../store/db.js';
import { CLIENT_KINDS, isClientKind, type ClientKind } from './principal.js';
import { hashSecret } from './secrets.js';
import { isResourceScope } from './token-scopes.js';
import { hasControlCharacter } from '../fhir/url-text.js';

/** A registered client as the rest of the server sees it. */
export interface RegisteredClient {
  id: string;
  /** ODS code of the member organisation it acts for. */
  org: string;
  kind: ClientKind;
  /** The scopes it may be granted (the ceiling of what a token request gets). */
  scopes: string[];
  revoked: boolean;
}

/** A client as the registry lists it to administrators. */
export interface ListedClient extends RegisteredClient {
  created: string;
  /** When it was last issued an access token; null if never. */
  lastToken: string | null;
  authentication: 'private_key_jwt' | 'client_secret_basic';
}

/** What the token endpoint checks a client's authentication against. */
export interface ClientCredentials extends RegisteredClient {
  jwks?: JSONWebKeySet;
  secretHash?: string;
}

export interface NewClient {
  org: string;
  kind: string;
  scopes: string[];
  /** Public keys for private_key_jwt ... */
  jwks?: JSONWebKeySet;
  /** ... or a secret for client_secret_basic (stored as a scrypt hash). */
  secret?: string;
}

interface ClientRow {
  id: string;
  org: string;
  kind: string;
  scopes: string[];
  jwks: JSONWebKeySet | null;
  secret_hash: string | null;
  revoked: boolean;
}

const COLUMNS = 'id, org, kind, scopes, jwks, secret_hash, revoked_at IS NOT NULL AS revoked';

// Every request checks its client is not revoked; a revocation reaches other processes within this.
const CACHE_MS = 5_000;

/** The client registry (table auth_client). */
export class ClientRegistry {
  private readonly cache = new Map<string, { client: RegisteredClient | undefined; until: number }>();

  constructor(private readonly db: Queryable) {}

  /** Registers a client; `via` runs the insert inside a caller's transaction. Throws on a bad registration. */
  async create(client: NewClient, via: Queryable = this.db): Promise<RegisteredClient> {
    checkRegistration(client);
    const id = randomUUID();
    const secretHash = client.secret ? await hashSecret(client.secret) : null;
    await via.query('INSERT INTO auth_client (id, org, kind, scopes, jwks, secret_hash) VALUES ($1, $2, $3, $4::text[], $5::jsonb, $6)', [
      id,
      client.org,
      client.kind,
      client.scopes,
      client.jwks ? JSON.stringify(client.jwks) : null,
      secretHash,
    ]);
    return { id, org: client.org, kind: client.kind as ClientKind, scopes: client.scopes, revoked: false };
  }

  /** The client, cached briefly; undefined if unknown. */
  async get(id: string): Promise<RegisteredClient | undefined> {
    const hit = this.cache.get(id);
    if (hit && hit.until > Date.now()) return hit.client;
    const found = await this.credentials(id);
    const client = found && { id: found.id, org: found.org, kind: found.kind, scopes: found.scopes, revoked: found.revoked };
    if (this.cache.size > 10_000) this.cache.clear();
    this.cache.set(id, { client, until: Date.now() + CACHE_MS });
    return client;
  }

  /** The client with its JWKS and secret hash, uncached (token requests must see a revocation at once). */
  async credentials(id: string): Promise<ClientCredentials | undefined> {
    // No client id holds a control character, and PostgreSQL's text takes no NUL: asking would fail.
    if (hasControlCharacter(id)) return undefined;
    const rows = await this.db.query<ClientRow>(`SELECT ${COLUMNS} FROM auth_client WHERE id = $1`, [id]);
    return rows[0] && fromRow(rows[0]);
  }

  /** Every client, with when it was registered and how it authenticates (never its keys or secret hash). */
  async list(): Promise<ListedClient[]> {
    const rows = await this.db.query<ClientRow & { created_at: Date | string; last_token_at: Date | string | null }>(`SELECT ${COLUMNS}, created_at, last_token_at FROM auth_client ORDER BY created_at, id`);
    return rows.map((row) => {
      const { jwks, secretHash: _hash, ...client } = fromRow(row);
      const lastToken = row.last_token_at === null ? null : new Date(row.last_token_at).toISOString();
      return { ...client, created: new Date(row.created_at).toISOString(), lastToken, authentication: jwks ? 'private_key_jwt' : 'client_secret_basic' };
    });
  }

  /** Notes that the client was just issued an access token (its "last used"). */
  async tokenIssued(id: string): Promise<void> {
    await this.db.query('UPDATE auth_client SET last_token_at = now() WHERE id = $1', [id]);
  }

  /** Revokes a client; false if there is no such unrevoked client. */
  async revoke(id: string): Promise<boolean> {
    if (hasControlCharacter(id)) return false;
    const rows = await this.db.query('UPDATE auth_client SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL RETURNING id', [id]);
    this.cache.delete(id);
    return rows.length > 0;
  }
}

function fromRow(row: ClientRow): ClientCredentials {
  if (!isClientKind(row.kind)) throw new Error(`auth_client ${row.id} has unknown kind '${row.kind}'`);
  return { id: row.id, org: row.org, kind: row.kind, scopes: row.scopes, revoked: row.revoked, jwks: row.jwks ?? undefined, secretHash: row.secret_hash ?? undefined };
}

function checkRegistration(client: NewClient): void {
  // ODS codes are a few letters and digits; a long one would make every token too large to send.
  if (typeof client.org !== 'string' || !/^[A-Za-z0-9]{1,20}$/.test(client.org)) throw new Error(`org must be an ODS code (1 to 20 letters and digits); got '${String(client.org).slice(0, 40)}'`);
  if (!isClientKind(client.kind)) throw new Error(`kind must be one of ${CLIENT_KINDS.join(', ')}; got '${client.kind}'`);
  const bad = client.scopes.filter((s) => !isResourceScope(s));
  if (!client.scopes.length || bad.length) throw new Error(`scopes must be SMART resource scopes such as system/Patient.rs; got '${bad.join(' ') || '(none)'}'`);
  if (!!client.jwks === !!client.secret) throw new Error('a client has either a JWKS (private_key_jwt) or a secret (client_secret_basic)');
  if (client.jwks) {
    createLocalJWKSet(client.jwks); // throws on a malformed set
    if (!client.jwks.keys.length) throw new Error('the JWKS has no keys');
    if (client.jwks.keys.some((k) => 'd' in k)) throw new Error('the JWKS holds a private key: register only the public keys');
    if (client.jwks.keys.some((k) => typeof k.kid !== 'string' || !k.kid)) throw new Error('every key in the JWKS needs a kid, a string');
    if (JSON.stringify(client.jwks).includes('\\u0000')) throw new Error('the JWKS holds a NUL character');
    // jose checks a key's shape only when an assertion arrives: an EC point off its curve would be stored, and never verify.
    for (const key of client.jwks.keys) {
      try {
        createPublicKey({ key: key as JsonWebKey, format: 'jwk' });
      } catch (err) {
        throw new Error(`the key '${key.kid}' is not a public key: ${(err as Error).message}`);
      }
    }
  }
}

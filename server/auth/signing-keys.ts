import { calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK, type JWK, type KeyLike } from 'jose';
import type { Db, Queryable } from '../store/db.js';

/** The one algorithm of the server's access tokens; verification is pinned to it. */
export const TOKEN_ALG = 'ES384';

// Any constant works; it only has to be the same in every process creating keys in this database.
const KEY_LOCK = 4_817_220_402;
// An unknown kid reloads the keys at most this often, so tokens with made-up kids cannot flood the database.
const MISS_RELOAD_MS = 2_000;

interface KeyRow {
  kid: string;
  private_jwk: JWK;
  public_jwk: JWK;
  retired_epoch: number | null;
}

interface LoadedKey {
  kid: string;
  privateKey: KeyLike;
  publicKey: KeyLike;
  publicJwk: JWK;
  /** When the key stopped signing (ms since epoch), if it has. */
  retiredAt?: number;
}

/**
 * The server's access token signing keys, kept in the database (auth_signing_key) so every API
 * process signs and verifies the same tokens. The newest unretired key signs; a retired key still
 * verifies and is published for `graceMs` after its retirement, so rotation needs no downtime.
 */
export class SigningKeys {
  private keys = new Map<string, LoadedKey>();
  private lastMissReload = 0;
  private reloading: Promise<void> | undefined;

  /** graceMs: token lifetime plus the reload period (another process may sign with a key until it reloads). */
  constructor(
    private readonly db: Db,
    private readonly graceMs: () => number,
  ) {}

  /** Loads the keys, creating the first one if the database has none. */
  async open(): Promise<this> {
    await ensureSigningKey(this.db);
    await this.load();
    return this;
  }

  async load(): Promise<void> {
    const rows = await this.db.query<KeyRow>(
      `SELECT kid, private_jwk, public_jwk, extract(epoch FROM retired_at)::float8 * 1000 AS retired_epoch FROM auth_signing_key
        WHERE retired_at IS NULL OR retired_at > now() - make_interval(secs => $1::float8) ORDER BY created_at DESC, kid`,
      [this.graceMs() / 1000],
    );
    const keys = new Map<string, LoadedKey>();
    for (const row of rows) {
      const known = this.keys.get(row.kid);
      const retiredAt = row.retired_epoch ?? undefined;
      keys.set(
        row.kid,
        known ? { ...known, retiredAt } : { kid: row.kid, privateKey: await importKey(row.private_jwk), publicKey: await importKey(row.public_jwk), publicJwk: row.public_jwk, retiredAt },
      );
    }
    this.keys = keys;
  }

  /** The key new tokens are signed with: the newest unretired one. */
  signer(): { kid: string; key: KeyLike } {
    const key = [...this.keys.values()].find((k) => k.retiredAt === undefined);
    if (!key) throw new Error('no active signing key: run `npm run client -- rotate-key`');
    return { kid: key.kid, key: key.privateKey };
  }

  /** The public key for a token's kid; reloads once (throttled) for a kid it does not know. */
  async verificationKey(kid: string | undefined): Promise<KeyLike> {
    if (!kid) throw new Error('the token has no kid');
    if (!this.usable(kid) && Date.now() - this.lastMissReload > MISS_RELOAD_MS) {
      this.lastMissReload = Date.now();
      this.reloading ??= this.load().finally(() => (this.reloading = undefined));
      await this.reloading;
    }
    const key = this.usable(kid);
    if (!key) throw new Error(`unknown or retired signing key '${kid}'`);
    return key.publicKey;
  }

  /** The public keys that verify (/.well-known/jwks.json). */
  publicJwks(): JWK[] {
    return [...this.keys.values()].filter((k) => this.usable(k.kid)).map((k) => ({ ...k.publicJwk, kid: k.kid, alg: TOKEN_ALG, use: 'sig' }));
  }

  private usable(kid: string): LoadedKey | undefined {
    const key = this.keys.get(kid);
    return key && (key.retiredAt === undefined || key.retiredAt + this.graceMs() > Date.now()) ? key : undefined;
  }
}

const importKey = (jwk: JWK): Promise<KeyLike> => importJWK(jwk, TOKEN_ALG) as Promise<KeyLike>;

// Key creation is serialised by an advisory lock, so two processes starting at once create one key.
async function locked<T>(db: Db, fn: (tx: Queryable) => Promise<T>): Promise<T> {
  return db.transaction(async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock($1)', [KEY_LOCK]);
    return fn(tx);
  });
}

/** Creates the first signing key when there is no active one. */
async function ensureSigningKey(db: Db): Promise<void> {
  await locked(db, async (tx) => {
    const active = await tx.query('SELECT 1 FROM auth_signing_key WHERE retired_at IS NULL LIMIT 1');
    if (!active.length) await insertKey(tx);
  });
}

/** Rotation: a new key becomes the signer and the others retire. Returns the new kid. */
export async function rotateSigningKey(db: Db): Promise<string> {
  return locked(db, async (tx) => {
    await tx.query('UPDATE auth_signing_key SET retired_at = now() WHERE retired_at IS NULL');
    return insertKey(tx);
  });
}

async function insertKey(tx: Queryable): Promise<string> {
  const pair = await generateKeyPair(TOKEN_ALG, { extractable: true });
  const publicJwk = await exportJWK(pair.publicKey);
  const kid = await calculateJwkThumbprint(publicJwk);
  await tx.query('INSERT INTO auth_signing_key (kid, alg, private_jwk, public_jwk) VALUES ($1, $2, $3::jsonb, $4::jsonb)', [
    kid,
    TOKEN_ALG,
    JSON.stringify(await exportJWK(pair.privateKey)),
    JSON.stringify(publicJwk),
  ]);
  return kid;
}

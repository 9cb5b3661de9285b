import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Db } from '../store/db.js';
import type { ClientRegistry } from './clients.js';
import { generateSecret } from './secrets.js';

// Any constant works; it only has to be the same in every process starting against this database.
const ADMIN_LOCK = 4_817_220_403;
export const ADMIN_SCOPES = ['system/*.cruds'];

export interface AdminCredentials {
  client_id: string;
  client_secret: string;
  token_endpoint: string;
  kind: 'admin';
  org: string;
  scopes: string[];
}

/**
 * First start: when no unrevoked admin client exists, creates one with a generated secret and
 * writes its credentials to `file`, readable only by its owner. An advisory lock makes processes
 * starting at once create one admin between them. Returns the file written, if any.
 */
export async function ensureAdminClient(db: Db, clients: ClientRegistry, options: { org: string; file: string; tokenEndpoint: string }): Promise<string | undefined> {
  return db.transaction(async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock($1)', [ADMIN_LOCK]);
    const active = await tx.query("SELECT 1 FROM auth_client WHERE kind = 'admin' AND revoked_at IS NULL LIMIT 1");
    if (active.length) return undefined;
    const secret = generateSecret();
    const admin = await clients.create({ org: options.org, kind: 'admin', scopes: ADMIN_SCOPES, secret }, tx);
    const credentials: AdminCredentials = { client_id: admin.id, client_secret: secret, token_endpoint: options.tokenEndpoint, kind: 'admin', org: admin.org, scopes: admin.scopes };
    // Written before commit: if the file cannot be written, no admin exists whose secret nobody knows.
    writeOwnerOnly(options.file, `${JSON.stringify(credentials, null, 2)}\n`);
    return options.file;
  });
}

/** Writes through a new 0600 file renamed into place, so the secret is never readable by others, even briefly. */
function writeOwnerOnly(file: string, content: string): void {
  mkdirSync(path.dirname(file), { recursive: true });
  const temp = `${file}.${process.pid}.tmp`;
  writeFileSync(temp, content, { mode: 0o600, flag: 'wx' });
  renameSync(temp, file);
}

// `npm run client` beside a running server on embedded PGlite: PGlite is one process's database, so the
// CLI goes through the server's client registration API with the first-start administrator's credentials.
import { readFileSync } from 'node:fs';
import type { RegisteredClient } from '../server/auth/clients.js';
import { authUrls } from '../server/auth/urls.js';
import type { Config } from '../server/config.js';

/** Is a server answering at BASE_URL? */
export async function serverIsUp(baseUrl: string): Promise<boolean> {
  const res = await fetch(`${baseUrl}/.well-known/smart-configuration`, { signal: AbortSignal.timeout(2000) }).catch(() => undefined);
  return res?.status === 200;
}

export interface RegistryApi {
  create(fields: { org: string; kind: string; scopes: string; jwks?: unknown; secret: boolean }): Promise<Record<string, unknown>>;
  list(): Promise<RegisteredClient[]>;
  revoke(id: string): Promise<boolean>;
}

/** The registration API of the server at BASE_URL, called as the administrator client. */
export async function registryOverHttp(config: Config): Promise<RegistryApi> {
  const creds = JSON.parse(readFileSync(config.auth.adminCredentialsFile, 'utf8')) as { client_id: string; client_secret: string };
  const urls = authUrls(config.baseUrl);
  const basic = Buffer.from(`${encodeURIComponent(creds.client_id)}:${encodeURIComponent(creds.client_secret)}`).toString('base64');
  const tokenRes = await fetch(urls.tokenEndpoint, { method: 'POST', headers: { authorization: `Basic ${basic}`, 'content-type': 'application/x-www-form-urlencoded' }, body: 'grant_type=client_credentials' });
  const token = ((await tokenRes.json()) as { access_token?: string }).access_token;
  if (!token) throw new Error(`the administrator credentials in ${config.auth.adminCredentialsFile} were refused (${tokenRes.status})`);
  const clientsUrl = `${new URL(config.baseUrl).origin}/oauth2/clients`;
  const call = async (method: string, path: string, body?: unknown): Promise<Response> =>
    fetch(`${clientsUrl}${path}`, { method, headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) }, body: body ? JSON.stringify(body) : undefined });
  const ok = async (res: Response): Promise<unknown> => {
    const text = await res.text();
    if (!res.ok) throw new Error(`the server refused: ${res.status} ${text}`);
    return text ? JSON.parse(text) : undefined;
  };
  return {
    create: async (fields) => (await ok(await call('POST', '', fields))) as Record<string, unknown>,
    list: async () => (await ok(await call('GET', ''))) as RegisteredClient[],
    revoke: async (id) => (await call('DELETE', `/${encodeURIComponent(id)}`)).status === 204,
  };
}

/** Requests an access token with client_secret_basic (the development credentials of SMART Backend Services). */
export async function secretToken(serverUrl: string, clientId: string, secret: string, scope?: string): Promise<{ token: string; expiresIn: number }> {
  const res = await fetch(`${serverUrl}/oauth2/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(secret)}`).toString('base64')}` },
    body: new URLSearchParams({ grant_type: 'client_credentials', ...(scope ? { scope } : {}) }).toString(),
  });
  const body = (await res.json()) as { access_token?: string; expires_in?: number };
  if (res.status !== 200 || !body.access_token) throw new Error(`token request failed: ${res.status} ${JSON.stringify(body)}`);
  return { token: body.access_token, expiresIn: body.expires_in ?? 0 };
}

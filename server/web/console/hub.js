// The console's only way into the hub: the token endpoint, the FHIR API and the admin endpoints,
// exactly as any administrator client uses them. Credentials and token live in this closure only.

/** A failure the console shows as a sentence. */
export class HubError extends Error {
  constructor(message, status) {
    super(message);
    this.status = status;
  }
}

const RENEW_BEFORE_MS = 30_000;

/** Requests a token with client_secret_basic; throws a HubError worded for the sign-in form. */
async function requestToken(clientId, secret) {
  const basic = btoa(`${encodeURIComponent(clientId)}:${encodeURIComponent(secret)}`);
  let res;
  try {
    res = await fetch('/oauth2/token', {
      method: 'POST',
      // No cookies, and no browser sign-in prompt on a 401 (the Fetch standard prompts only when credentials are included).
      credentials: 'omit',
      headers: { authorization: `Basic ${basic}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: 'grant_type=client_credentials',
    });
  } catch (err) {
    throw new HubError(`The hub did not answer (${err.message}). Check that it is running and try again.`);
  }
  const body = await res.json().catch(() => ({}));
  if (res.status === 401 || body.error === 'invalid_client') throw new HubError('The client id or secret is wrong, or the client has been revoked.', res.status);
  if (res.status === 429) throw new HubError('Too many sign-in attempts from here; wait a minute and try again.', 429);
  if (!res.ok || !body.access_token) throw new HubError(`The hub refused the sign-in: ${body.error_description ?? body.error ?? res.statusText}.`, res.status);
  return { token: body.access_token, expiresAt: Date.now() + (body.expires_in ?? 300) * 1000 };
}

/** The sentence an error response carries: an OperationOutcome's diagnostics, an OAuth error, or the status. */
async function problemOf(res) {
  const text = await res.text();
  try {
    const body = JSON.parse(text);
    const said = body.issue?.map((i) => i.diagnostics ?? i.details?.text).filter(Boolean).join('; ') || body.error_description || body.error;
    if (said) return said.replace(/\s*\(request id [^)]*\)$/, '');
  } catch {
    // not JSON: fall through to the text or the status
  }
  return text.trim() || `${res.status} ${res.statusText}`;
}

/**
 * Signs in and checks the client is an administrator by asking for the client list, which only
 * administrators may read. Resolves to a session; rejects with a HubError to show.
 */
export async function signIn(clientId, secret) {
  let current = await requestToken(clientId, secret);
  const token = async () => {
    if (Date.now() > current.expiresAt - RENEW_BEFORE_MS) current = await requestToken(clientId, secret);
    return current.token;
  };
  const call = async (url, init = {}) => {
    let res;
    try {
      res = await fetch(url, { ...init, credentials: 'omit', headers: { accept: 'application/fhir+json, application/json', ...init.headers, authorization: `Bearer ${await token()}` } });
    } catch (err) {
      throw new HubError(`The hub did not answer (${err.message}).`);
    }
    if (!res.ok) throw new HubError(await problemOf(res), res.status);
    return res;
  };
  const json = async (url, init) => {
    const res = await call(url, init);
    return res.status === 204 ? undefined : res.json();
  };
  const session = {
    clientId,
    /** A FHIR request relative to /fhir, or an absolute link the hub gave (paging). */
    fhir: (path, init) => json(sameOrigin(path), init),
    fhirWrite: (method, path, resource) => json(`/fhir/${path}`, { method, headers: { 'content-type': 'application/fhir+json' }, body: JSON.stringify(resource) }),
    clients: {
      list: () => json('/oauth2/clients'),
      register: (fields) => json('/oauth2/clients', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(fields) }),
      revoke: (id) => json(`/oauth2/clients/${encodeURIComponent(id)}`, { method: 'DELETE' }),
    },
    /** A new access token signing key; tokens already issued stay valid until they expire. */
    rotateSigningKey: () => json('/oauth2/signing-keys', { method: 'POST' }),
    metrics: async () => (await call('/metrics', { headers: { accept: 'text/plain' } })).text(),
  };
  try {
    await session.clients.list();
  } catch (err) {
    if (err.status === 403) throw new HubError('This client is not an administrator. The console is for administrator clients only; sign in with one.', 403);
    throw err;
  }
  return session;
}

/** Open to anyone, like /metadata: readiness of the database, migrations and Redis. */
export async function readiness() {
  const res = await fetch('/readyz');
  return res.json();
}

/** A path under /fhir, or a link the hub gave (paging) taken as a path on this origin. */
function sameOrigin(path) {
  if (!/^https?:/.test(path)) return `/fhir/${path.replace(/^\//, '')}`;
  const url = new URL(path);
  return `${url.pathname}${url.search}`;
}

import { createHmac } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import type { EndpointPolicy } from './endpoint-policy.js';

// Keep-alive: a busy receiver gets a stream of notifications; a new TCP (and TLS) handshake each is waste.
// maxSockets bounds what one receiver host can take; requests beyond it queue in the agent. Idle
// sockets close after 4 s, before the 5 s keep-alive timeout of common servers (Node's default), so
// we rarely send on a socket the receiver is closing (a failed attempt, then a retry).
const AGENT_OPTIONS = { keepAlive: true, maxSockets: 64, scheduling: 'lifo' as const, timeout: 4000 };
const HTTP_AGENT = new http.Agent(AGENT_OPTIONS);
const HTTPS_AGENT = new https.Agent(AGENT_OPTIONS);

/** Header carrying the HMAC-SHA256 of the raw body, keyed by the subscription's signing secret. */
export const SIGNATURE_HEADER = 'X-Hub-Signature-256';
/** Same value on every attempt of one notification, so a receiver can drop duplicates. */
export const NOTIFICATION_ID_HEADER = 'X-Notification-Id';

/** `sha256=<hex>`: receivers recompute it over the exact bytes received and compare in constant time. */
export function signature(secret: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(body, 'utf8').digest('hex')}`;
}

export interface PostResult {
  ok: boolean;
  status?: number;
  error?: string;
  durationMs: number;
}

/**
 * One rest-hook request (POST of a notification, or PUT/DELETE of an R4 payload). Node's http client
 * rather than fetch so the connection's DNS answer passes through the endpoint policy (no SSRF by
 * rebinding). 2xx is success; anything else, a timeout or a refused connection is a failure the
 * caller retries. A kept-alive socket the receiver closed as we reused it fails before any answer:
 * that one attempt is repeated at once on a new connection, as browsers do, rather than counted as
 * a failure of the receiver.
 */
export function send(method: string, endpoint: string, body: string, headers: Record<string, string>, timeoutMs: number, policy: EndpointPolicy, fresh = false): Promise<PostResult> {
  const started = performance.now();
  return new Promise((resolve) => {
    let url: URL;
    try {
      url = new URL(endpoint);
    } catch {
      resolve({ ok: false, error: `bad endpoint ${endpoint}`, durationMs: 0 });
      return;
    }
    const client = url.protocol === 'https:' ? https : http;
    let answered = false;
    const done = (r: Omit<PostResult, 'durationMs'>): void => resolve({ ...r, durationMs: performance.now() - started });
    const req = client.request(
      url,
      {
        method,
        headers: { ...headers, 'Content-Length': String(Buffer.byteLength(body)) },
        lookup: policy.connectionLookup(url.hostname) as never,
        timeout: timeoutMs,
        agent: fresh ? false : url.protocol === 'https:' ? HTTPS_AGENT : HTTP_AGENT,
      },
      (res) => {
        answered = true;
        res.resume(); // the body is not ours to read; drain it so the socket closes
        res.on('end', () => {
          const status = res.statusCode ?? 0;
          done(status >= 200 && status < 300 ? { ok: true, status } : { ok: false, status, error: `HTTP ${status} from ${url.host}` });
        });
        res.on('error', (err) => done({ ok: false, status: res.statusCode, error: err.message }));
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no response from ${url.host} within ${timeoutMs} ms`)));
    req.on('error', (err: NodeJS.ErrnoException) => {
      if (!answered && req.reusedSocket && !fresh && (err.code === 'ECONNRESET' || err.code === 'EPIPE' || err.message === 'socket hang up')) {
        send(method, endpoint, body, headers, timeoutMs, policy, true).then(resolve);
        return;
      }
      done({ ok: false, error: err.message });
    });
    req.end(body);
  });
}

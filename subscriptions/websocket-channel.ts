import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Subscription } from '@medplum/fhirtypes';
import { Redis, type RedisOptions } from 'ioredis';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Db } from '../server/store/db.js';
import type { Store } from '../server/store/store.js';
import { toModel } from './model.js';
import { notificationBundle } from './notification.js';

/** Where websocket notifications are published: the delivery worker may run in another process than the socket. */
export const wsChannel = (prefix: string, subscriptionId: string): string => `${prefix}:ws:${subscriptionId}`;
export const WS_PATH = '/ws/subscriptions';

/** The websocket URL clients connect to, next to the FHIR base (same host, ws or wss). */
export function websocketUrl(baseUrl: string): string {
  const u = new URL(baseUrl);
  return `${u.protocol === 'https:' ? 'wss:' : 'ws:'}//${u.host}${WS_PATH}`;
}

export interface WebsocketDeps {
  db: Db;
  store: Store;
  redis: RedisOptions;
  prefix: string;
  baseUrl: () => string;
  /** Ask for delivery of what is pending for a subscription that just got a listener. */
  kick(subscriptionId: string): Promise<void>;
}

/**
 * The Backport IG websocket channel: the client gets a token from $get-ws-binding-token, connects,
 * sends `bind-with-token <token>`, receives a handshake Bundle per subscription, then the same
 * notification Bundles as rest-hook. Delivery over a socket is at-most-once while connected;
 * a client catches up after a reconnect with $events (event numbers show what it missed).
 */
export function attachWebsocket(http: Server, deps: WebsocketDeps): { close(): Promise<void> } {
  const wss = new WebSocketServer({ noServer: true });
  const subscriber = new Redis(deps.redis);
  subscriber.on('error', () => undefined);
  const sockets = new Map<string, Set<WebSocket>>();

  subscriber.on('message', (channel: string, body: string) => {
    const id = channel.slice(wsChannel(deps.prefix, '').length);
    for (const ws of sockets.get(id) ?? []) ws.send(body);
  });

  const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    if (new URL(req.url ?? '/', 'http://local').pathname !== WS_PATH) return;
    wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
  };
  http.on('upgrade', onUpgrade);

  wss.on('connection', (ws: WebSocket) => {
    const bound = new Set<string>();
    ws.on('message', (data) => {
      const text = data.toString().trim();
      const m = /^bind-with-token\s+(\S+)$/.exec(text);
      if (!m) {
        ws.send(JSON.stringify({ resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'invalid', diagnostics: 'Send `bind-with-token <token>`' }] }));
        return;
      }
      void bind(m[1]).catch(() => ws.close(1011, 'bind failed'));
    });
    ws.on('close', () => {
      for (const id of bound) {
        const set = sockets.get(id);
        set?.delete(ws);
        if (set && !set.size) {
          sockets.delete(id);
          void subscriber.unsubscribe(wsChannel(deps.prefix, id)).catch(() => undefined);
        }
      }
    });

    async function bind(token: string): Promise<void> {
      const rows = await deps.db.query<{ subscription_ids: string[] }>('SELECT subscription_ids FROM subscription_ws_token WHERE token = $1 AND expires_at > now()', [token]);
      if (!rows.length) {
        ws.close(4001, 'unknown or expired token');
        return;
      }
      for (const id of rows[0].subscription_ids) {
        const v = await deps.store.read('Subscription', id);
        if (!v?.content || v.deleted) continue;
        const sub = toModel(JSON.parse(v.content) as Subscription & { id: string });
        const state = await deps.db.query<{ events_since_start: number }>('SELECT events_since_start FROM subscription_state WHERE subscription_id = $1', [id]);
        const handshake = notificationBundle({
          sub,
          type: 'handshake',
          status: sub.status,
          eventsSinceStart: Number(state[0]?.events_since_start ?? 0),
          events: [],
          baseUrl: deps.baseUrl(),
          notificationId: `${id}-handshake-${Date.now()}`,
        });
        ws.send(JSON.stringify(handshake));
        // The handshake goes first; the socket joins its subscription's set before the channel is
        // subscribed, so a notification published right after the subscribe is acknowledged (and
        // counted as heard) cannot find the set empty and be lost.
        const listening = sockets.get(id);
        if (listening) listening.add(ws);
        else {
          sockets.set(id, new Set([ws]));
          await subscriber.subscribe(wsChannel(deps.prefix, id));
        }
        bound.add(id);
        await deps.kick(id).catch(() => undefined);
      }
    }
  });

  return {
    async close() {
      http.off('upgrade', onUpgrade);
      for (const ws of wss.clients) ws.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      subscriber.disconnect();
    },
  };
}

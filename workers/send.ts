import { notificationRecord } from '../server/audit/notification.js';
import type { NotificationAccess } from '../server/access/notification-access.js';
import type { AuditRecord } from '../server/audit/record.js';
import type { SubscriptionConfig } from '../server/subscription-config.js';
import type { DeliveryAttempt } from '../subscriptions/delivery-cursors.js';
import type { EndpointPolicy } from '../subscriptions/endpoint-policy.js';
import type { SubscriptionModel } from '../subscriptions/model.js';
import { notificationRequest, type LoadedEvent, type NotificationType } from '../subscriptions/notification.js';
import { NOTIFICATION_ID_HEADER, send, signature, SIGNATURE_HEADER, type PostResult } from '../subscriptions/rest-hook.js';
import type { Limiter } from './limiter.js';

/** Sends a websocket notification to the API processes holding bound sockets; returns how many listened. */
export type WsPublish = (subscriptionId: string, body: string) => Promise<number>;

export interface SendDeps {
  policy: EndpointPolicy;
  config: SubscriptionConfig;
  baseUrl: () => string;
  publish: WsPublish;
  limiter: Limiter;
  /** Records each delivery attempt in the audit trail (not awaited: the notification has gone either way). */
  audit?: (rec: AuditRecord) => Promise<void>;
  /** Drops events whose resource the subscription's owner may not read (server/access). */
  readable?: NotificationAccess;
}

export interface Sent {
  /** 'nobody': a websocket subscription with no socket bound; its events wait for a bind. */
  ok: boolean | 'nobody';
  error?: string;
  attempt?: DeliveryAttempt;
}

/**
 * One notification on the subscription's channel, with the attempt to log. The notification id is
 * stable per content: the same events (or the same handshake) carry the same id across retries and
 * workers, so receivers can drop repeats.
 */
export async function sendNotification(
  deps: SendDeps,
  sub: SubscriptionModel,
  type: NotificationType,
  events: LoadedEvent[],
  eventsSinceStart: number,
  status: string,
): Promise<Sent> {
  const first = events[0]?.event.eventNumber;
  const last = events[events.length - 1]?.event.eventNumber;
  const notificationId = events.length ? `${sub.id}-${first}-${last}` : `${sub.id}-${type}-${Date.now()}`;
  // Ids and counts stay those of every event, so retries and the receiver's event numbering agree.
  const visible = deps.readable && events.length ? await deps.readable(sub.owner, events) : events;
  if (events.length && !visible.length) return { ok: true };
  const request = notificationRequest({ sub, type, status, eventsSinceStart, events: visible, baseUrl: deps.baseUrl(), notificationId });
  const attemptedAt = new Date();
  let result: PostResult;
  if (sub.channelType === 'websocket') {
    const started = performance.now();
    const listeners = await deps.publish(sub.id, request.body);
    if (!listeners) return { ok: 'nobody' };
    result = { ok: true, durationMs: performance.now() - started };
  } else {
    const headers: Record<string, string> = { ...sub.headers, [NOTIFICATION_ID_HEADER]: notificationId };
    if (request.contentType) headers['Content-Type'] = request.contentType;
    if (sub.secret) headers[SIGNATURE_HEADER] = signature(sub.secret, request.body);
    if (first !== undefined) headers['X-Subscription-Events'] = first === last ? String(first) : `${first}-${last}`;
    const timeout = sub.timeoutMs ?? deps.config.deliveryTimeoutMs;
    result = await deps.limiter.run(hostOf(request.url), () => send(request.method, request.url, request.body, headers, timeout, deps.policy));
  }
  const attempt: DeliveryAttempt = {
    subscriptionId: sub.id,
    notificationId,
    kind: type,
    firstEvent: first,
    lastEvent: last,
    attemptedAt,
    durationMs: result.durationMs,
    ok: result.ok,
    httpStatus: result.status,
    error: result.error,
  };
  deps.audit?.(
    notificationRecord({
      subscriptionId: sub.id,
      events: visible.map(({ event, resource }) => ({ reference: `${event.resourceType}/${event.resourceId}`, resource })),
      status: result.status ?? (result.ok ? 200 : 0),
      error: result.error,
      notificationId,
    }),
  ).catch(() => undefined); // the audit writer logs its own failures
  return { ok: result.ok, error: result.error, attempt };
}

function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return url;
  }
}

import type { Bundle, BundleEntry, Parameters, ParametersParameter, Resource } from '@medplum/fhirtypes';
import type { SubscriptionEvent } from './event-store.js';
import type { PayloadContent, SubscriptionModel } from './model.js';

export type NotificationType = 'handshake' | 'heartbeat' | 'event-notification' | 'query-status' | 'query-event';

/** An event with the resource version it is about (when the payload carries resources). */
export interface LoadedEvent {
  event: SubscriptionEvent;
  resource?: Resource;
}

export interface NotificationInput {
  sub: SubscriptionModel;
  type: NotificationType;
  /** The subscription's status as reported in the notification. */
  status: string;
  eventsSinceStart: number;
  events: LoadedEvent[];
  baseUrl: string;
  notificationId: string;
  content?: PayloadContent;
  error?: string;
}

const STATUS_PROFILE = 'http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-subscription-status-r4';
const NOTIFICATION_PROFILE = 'http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-subscription-notification-r4';

/**
 * The SubscriptionStatus of the Backport IG for R4: a Parameters resource
 * (backport-subscription-status-r4) with subscription, topic, status, type,
 * events-since-subscription-start and one notification-event per event.
 */
export function subscriptionStatus(input: NotificationInput): Parameters {
  const { sub, events } = input;
  const content = input.content ?? sub.content;
  const parameter: ParametersParameter[] = [
    { name: 'subscription', valueReference: { reference: `${input.baseUrl}/Subscription/${sub.id}` } },
  ];
  // The IG: topic SHOULD NOT be present with empty payloads.
  if (sub.topicUrl && content !== 'empty') parameter.push({ name: 'topic', valueCanonical: sub.topicUrl });
  parameter.push(
    { name: 'status', valueCode: input.status },
    { name: 'type', valueCode: input.type },
    { name: 'events-since-subscription-start', valueString: String(input.eventsSinceStart) },
  );
  for (const { event } of events) {
    const part: ParametersParameter[] = [
      { name: 'event-number', valueString: String(event.eventNumber) },
      { name: 'timestamp', valueInstant: event.occurredAt.toISOString() },
    ];
    if (content !== 'empty') part.push({ name: 'focus', valueReference: { reference: `${input.baseUrl}/${event.resourceType}/${event.resourceId}` } });
    parameter.push({ name: 'notification-event', part });
  }
  if (input.error) {
    parameter.push({ name: 'error', valueCodeableConcept: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/subscription-error', code: 'no-response' }], text: input.error } });
  }
  return { resourceType: 'Parameters', id: input.notificationId, meta: { profile: [STATUS_PROFILE] }, parameter };
}

/** A Backport notification: a `history` Bundle whose first entry is the SubscriptionStatus. */
export function notificationBundle(input: NotificationInput): Bundle {
  const content = input.content ?? input.sub.content;
  const entry: BundleEntry[] = [
    {
      fullUrl: `urn:uuid:${input.notificationId}`,
      resource: subscriptionStatus(input),
      request: { method: 'GET', url: `${input.baseUrl}/Subscription/${input.sub.id}/$status` },
      response: { status: '200' },
    },
  ];
  if (content !== 'empty') {
    for (const { event, resource } of input.events) {
      const e: BundleEntry = { fullUrl: `${input.baseUrl}/${event.resourceType}/${event.resourceId}` };
      if (content === 'full-resource' && resource) e.resource = resource;
      e.request = requestOf(event);
      e.response = { status: event.interaction === 'create' ? '201' : event.interaction === 'delete' ? '204' : '200' };
      entry.push(e);
    }
  }
  return {
    resourceType: 'Bundle',
    id: input.notificationId,
    meta: { profile: [NOTIFICATION_PROFILE] },
    type: 'history',
    timestamp: new Date().toISOString(),
    entry,
  };
}

function requestOf(event: SubscriptionEvent): BundleEntry['request'] {
  if (event.interaction === 'create') return { method: 'POST', url: event.resourceType };
  return { method: event.interaction === 'delete' ? 'DELETE' : 'PUT', url: `${event.resourceType}/${event.resourceId}` };
}

/** What goes over the wire for one notification: method, URL, body and its type. */
export interface NotificationRequest {
  method: 'POST' | 'PUT' | 'DELETE';
  url: string;
  body: string;
  contentType?: string;
}

/**
 * The HTTP request of a notification. Topic-based (Backport) subscriptions: POST the notification
 * Bundle to the endpoint. R4 criteria subscriptions (https://hl7.org/fhir/R4/subscription.html#channels,
 * "REST Hook"): no payload = an empty POST to the endpoint (a ping: "go and look"); with a payload,
 * a copy of the resource goes "to the nominated server as an Update operation using the nominated
 * URL as the service base": PUT [endpoint]/[type]/[id]. A deleted resource has no copy to send; the
 * change is forwarded as DELETE [endpoint]/[type]/[id] (R4 is silent on deletes; this mirrors them).
 */
export function notificationRequest(input: NotificationInput): NotificationRequest {
  const { sub } = input;
  const endpoint = sub.endpoint ?? '';
  if (sub.topic) return { method: 'POST', url: endpoint, body: JSON.stringify(notificationBundle(input)), contentType: 'application/fhir+json' };
  const loaded = input.events[0];
  if (!sub.payload || input.type !== 'event-notification' || !loaded) return { method: 'POST', url: endpoint, body: '' };
  const url = `${endpoint.replace(/\/+$/, '')}/${loaded.event.resourceType}/${encodeURIComponent(loaded.event.resourceId)}`;
  if (loaded.event.interaction === 'delete') return { method: 'DELETE', url, body: '' };
  if (!loaded.resource) return { method: 'POST', url: endpoint, body: '' }; // the version is gone: a ping is all that is left
  return { method: 'PUT', url, body: resourceJson(loaded.resource), contentType: sub.payload };
}

/**
 * A resource version serialised once, however many subscriptions send it as their payload: the
 * deliverer hands every event of one version the same object (a write matching ten subscriptions
 * was ten serialisations of one resource).
 */
const serialised = new WeakMap<Resource, string>();
function resourceJson(resource: Resource): string {
  let json = serialised.get(resource);
  if (json === undefined) serialised.set(resource, (json = JSON.stringify(resource)));
  return json;
}

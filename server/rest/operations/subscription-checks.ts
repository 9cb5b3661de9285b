import type { CapabilityStatement, Subscription } from '@medplum/fhirtypes';
import { isKnownResourceType } from '../../../profiles/validator.js';
import type { EndpointPolicy } from '../../../subscriptions/endpoint-policy.js';
import { checkSubscription } from '../../../subscriptions/validate.js';
import type { WriteCheck } from '../write.js';
import { BACKPORT_PROFILE } from '../../../subscriptions/model.js';
import { TOPICS } from '../../../subscriptions/topics.js';
import { WS_PATH } from '../../../subscriptions/websocket-channel.js';

/**
 * Subscription writes are checked before they are stored (subscriptions/validate.ts). A new
 * subscription starts `requested` whatever the client sent: the server activates it after the
 * handshake (R4 subscription.html#status, Backport IG handshake). `policy` says which endpoints may be
 * notified (SUBSCRIPTION_ENDPOINT_ALLOW).
 */
export function subscriptionWriteCheck(policy: EndpointPolicy): WriteCheck {
  return async (resource, ctx) => {
    const sub = resource as Subscription;
    await checkSubscription(sub, { search: ctx.search, sql: ctx.store.sql, policy, isResourceType: isKnownResourceType });
    const existing = sub.id ? await ctx.store.read('Subscription', sub.id) : undefined;
    const isNew = !existing || existing.deleted;
    if (isNew && sub.status === 'active') return { ...sub, status: 'requested' } as Subscription;
    return sub;
  };
}

const TOPIC_CANONICAL = 'http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/capabilitystatement-subscriptiontopic-canonical';

/** Advertise the backport profile, the topics and the websocket channel on the Subscription resource. */
export function subscriptionCapability(statement: CapabilityStatement): void {
  const resource = statement.rest?.[0]?.resource?.find((r) => r.type === 'Subscription');
  if (!resource) return;
  resource.supportedProfile = [...(resource.supportedProfile ?? []), BACKPORT_PROFILE];
  resource.extension = [...(resource.extension ?? []), ...TOPICS.map((t) => ({ url: TOPIC_CANONICAL, valueCanonical: t.url }))];
  resource.documentation =
    'R4 criteria subscriptions and R5 Backport (1.1.0) topic-based subscriptions; channels rest-hook and websocket ' +
    `(${WS_PATH}, bind with a token from $get-ws-binding-token). Topics are also served as Basic resources (Basic?code=SubscriptionTopic).`;
  statement.instantiates = [...(statement.instantiates ?? []), 'http://hl7.org/fhir/uv/subscriptions-backport/CapabilityStatement/backport-subscription-server-r4'];
}

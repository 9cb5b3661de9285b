import type { Bundle, ParametersParameter } from '@medplum/fhirtypes';
import { EventStore } from '../../../subscriptions/event-store.js';
import { subscriptionStatus } from '../../../subscriptions/notification.js';
import type { Operation } from '../operations.js';
import type { FhirContext } from '../request.js';
import { inputs, loadSubscription } from './subscription-params.js';

const RECENT_ATTEMPTS = 10;

/** One SubscriptionStatus (query-status) with the delivery log's latest attempts appended. */
async function statusOf(ctx: FhirContext, id: string): Promise<Bundle['entry']> {
  const { resource, model } = await loadSubscription(ctx, id);
  const events = EventStore.reader(ctx.store.sql);
  const state = await events.state(id, ctx.store.sql);
  const status = subscriptionStatus({
    sub: model,
    type: 'query-status',
    status: resource.status,
    eventsSinceStart: state?.eventsSinceStart ?? 0,
    events: [],
    baseUrl: ctx.baseUrl,
    notificationId: `${id}-status`,
    ...(resource.status === 'error' && resource.error ? { error: resource.error } : {}),
  });
  // Not in the IG's profile (its slicing is open): how far delivery got, and what the last attempts saw.
  const extra: ParametersParameter[] = [{ name: 'delivered-through', valueString: String(state?.deliveredThrough ?? 0) }];
  for (const a of await events.recentAttempts(id, RECENT_ATTEMPTS, ctx.store.sql)) {
    const part: ParametersParameter[] = [
      { name: 'attempted-at', valueInstant: new Date(a.attempted_at as string).toISOString() },
      { name: 'kind', valueCode: String(a.kind) },
      { name: 'ok', valueBoolean: Boolean(a.ok) },
      { name: 'notification-id', valueString: String(a.notification_id) },
      { name: 'duration-ms', valueInteger: Number(a.duration_ms) },
    ];
    if (a.first_event !== null) part.push({ name: 'events', valueString: `${a.first_event}-${a.last_event}` });
    if (a.http_status !== null) part.push({ name: 'http-status', valueInteger: Number(a.http_status) });
    if (a.error) part.push({ name: 'error', valueString: String(a.error) });
    extra.push({ name: 'delivery-attempt', part });
  }
  status.parameter = [...(status.parameter ?? []), ...extra];
  return [{ fullUrl: `urn:uuid:${id}-status`, resource: status }];
}

/** $status (Backport IG OperationDefinition backport-subscription-status): a searchset of SubscriptionStatus. */
export const statusOperation: Operation = {
  name: 'status',
  type: true,
  instance: true,
  resourceTypes: ['Subscription'],
  idempotent: true,
  definition: 'http://hl7.org/fhir/uv/subscriptions-backport/OperationDefinition/backport-subscription-status',
  async handler(req, ctx, params) {
    let ids = params.id ? [params.id] : inputs(req, 'id');
    if (!params.id && !ids.length) {
      // Through the client's search: the subscriptions it may read, as GET Subscription?status= would list them.
      const statuses = inputs(req, 'status');
      ids = await ctx.search.matchIds(ctx.store.sql, 'Subscription', new URLSearchParams(statuses.length ? { status: statuses.join(',') } : {}), 1000);
    }
    const entry = (await Promise.all(ids.map((id) => statusOf(ctx, id)))).flatMap((e) => e ?? []);
    const bundle: Bundle = { resourceType: 'Bundle', type: 'searchset', total: entry.length, entry };
    return { status: 200, body: bundle };
  },
};

import type { Resource } from '@medplum/fhirtypes';
import { EventStore } from '../../../subscriptions/event-store.js';
import type { PayloadContent } from '../../../subscriptions/model.js';
import { notificationBundle, type LoadedEvent } from '../../../subscriptions/notification.js';
import { badRequest } from '../../errors.js';
import type { Operation } from '../operations.js';
import { inputs, loadSubscription, wholeNumber } from './subscription-params.js';

const MAX_EVENTS = 1000;
const CONTENTS: PayloadContent[] = ['empty', 'id-only', 'full-resource'];

/**
 * $events (Backport IG backport-subscription-events): the stored events by number, as a
 * query-event notification Bundle, so a receiver can recover what it missed (gaps in event numbers).
 */
export const eventsOperation: Operation = {
  name: 'events',
  instance: true,
  resourceTypes: ['Subscription'],
  idempotent: true,
  definition: 'http://hl7.org/fhir/uv/subscriptions-backport/OperationDefinition/backport-subscription-events',
  async handler(req, ctx, params) {
    const id = params.id!;
    const { resource, model } = await loadSubscription(ctx, id);
    const from = wholeNumber(inputs(req, 'eventsSinceNumber')[0], 'eventsSinceNumber') ?? 1;
    const to = wholeNumber(inputs(req, 'eventsUntilNumber')[0], 'eventsUntilNumber') ?? Number.MAX_SAFE_INTEGER;
    const requested = inputs(req, 'content')[0] as PayloadContent | undefined;
    if (requested && !CONTENTS.includes(requested)) throw badRequest(`content must be one of ${CONTENTS.join(', ')}`, 'content');
    const content = requested ?? (model.topic ? model.content : 'full-resource');
    const store = EventStore.reader(ctx.store.sql);
    const events = await store.events(id, from, to, MAX_EVENTS, ctx.store.sql);
    const state = await store.state(id, ctx.store.sql);
    const loaded: LoadedEvent[] = await Promise.all(
      events.map(async (event) => {
        if (content !== 'full-resource' || event.interaction === 'delete') return { event };
        const v = await ctx.store.vread(event.resourceType, event.resourceId, event.versionId);
        return { event, ...(v?.content ? { resource: JSON.parse(v.content) as Resource } : {}) };
      }),
    );
    const bundle = notificationBundle({
      sub: { ...model, topicUrl: model.topicUrl },
      type: 'query-event',
      status: resource.status,
      eventsSinceStart: state?.eventsSinceStart ?? 0,
      events: loaded,
      baseUrl: ctx.baseUrl,
      notificationId: `${id}-events-${from}-${events.length ? events[events.length - 1].eventNumber : from}`,
      content,
    });
    return { status: 200, body: bundle };
  },
};

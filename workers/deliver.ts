import { randomUUID } from 'node:crypto';
import { DelayedError, type Job } from 'bullmq';
import type { Resource, Subscription } from '@medplum/fhirtypes';
import type { Store } from '../server/store/store.js';
import type { SubscriptionConfig } from '../subscriptions/config.js';
import type { EndpointPolicy } from '../subscriptions/endpoint-policy.js';
import type { EventStore, SubscriptionEvent } from '../subscriptions/event-store.js';
import { setStatus } from '../subscriptions/lifecycle.js';
import { toModel, type SubscriptionModel } from '../subscriptions/model.js';
import { notificationBody, type LoadedEvent, type NotificationType } from '../subscriptions/notification.js';
import { NOTIFICATION_ID_HEADER, post, signature, SIGNATURE_HEADER, type PostResult } from '../subscriptions/rest-hook.js';
import type { DeliveryJob } from './queues.js';

/** Sends a websocket notification to the API processes holding bound sockets; returns how many listened. */
export type WsPublish = (subscriptionId: string, body: string) => Promise<number>;

export interface DelivererDeps {
  store: Store;
  events: EventStore;
  policy: EndpointPolicy;
  config: SubscriptionConfig;
  baseUrl: () => string;
  publish: WsPublish;
}

/** Retry n waits base * 2^(n-1), capped, times a jitter in [0.5, 1) so failed receivers are not hit in lock-step. */
export function backoffMs(config: SubscriptionConfig, failures: number): number {
  const raw = Math.min(config.backoffMaxMs, config.backoffBaseMs * 2 ** Math.max(0, failures - 1));
  return Math.round(raw * (0.5 + Math.random() * 0.5));
}

/**
 * The delivery step. Per subscription, one worker at a time holds a lease (subscription_state) and
 * sends pending events in number order; the cursor moves only after a 2xx, so a worker killed
 * mid-delivery leaves the event pending and the next lease holder sends it again (at-least-once,
 * same notification id). Failures back off in the database, not in the job, so every job for the
 * subscription honours the same back-off; after maxAttempts the subscription goes to `error`.
 */
export class Deliverer {
  /** Lease owners are per process and job: two jobs of one process must not share a lease (that would double-deliver). */
  private readonly processId = randomUUID();

  constructor(private readonly deps: DelivererDeps) {}

  async handle(job: Job<DeliveryJob>, token?: string): Promise<void> {
    const owner = `${this.processId}:${job.id}`;
    const sub = await this.subscription(job.data.subscriptionId);
    if (!sub) return;
    if (job.data.kind === 'heartbeat') return this.heartbeat(sub);
    if (job.data.kind === 'handshake') return this.withLease(owner, job, token, sub, 0, () => this.handshake(owner, sub));
    if (sub.status !== 'active' || (sub.end && sub.end.getTime() <= Date.now())) return;
    return this.withLease(owner, job, token, sub, job.data.eventNumber, (through) => this.deliverPending(owner, sub, through));
  }

  private async subscription(id: string): Promise<SubscriptionModel | undefined> {
    const v = await this.deps.store.read('Subscription', id);
    return v?.content && !v.deleted ? toModel(JSON.parse(v.content) as Subscription & { id: string }) : undefined;
  }

  private get leaseMs(): number {
    return this.deps.config.deliveryTimeoutMs + 2000;
  }

  /** Runs fn under the subscription's lease; if busy or backing off, this job waits (DelayedError) rather than failing. */
  private async withLease(owner: string, job: Job<DeliveryJob>, token: string | undefined, sub: SubscriptionModel, eventNumber: number, fn: (through: number) => Promise<'done' | 'retry' | 'gave-up'>): Promise<void> {
    const lease = await this.deps.events.acquireLease(sub.id, owner, this.leaseMs);
    if (!lease) {
      const state = await this.deps.events.state(sub.id);
      if (eventNumber && state && state.deliveredThrough >= eventNumber) return; // someone else delivered it
      const until = Math.max(state?.nextAttemptAt?.getTime() ?? 0, Date.now() + 20 + Math.random() * 30);
      await job.moveToDelayed(until, token);
      throw new DelayedError();
    }
    let outcome: 'done' | 'retry' | 'gave-up' = 'done';
    try {
      outcome = await fn(lease.deliveredThrough);
    } finally {
      if (outcome === 'done') await this.deps.events.releaseLease(sub.id, owner);
    }
    if (outcome === 'retry') {
      const state = await this.deps.events.state(sub.id);
      await job.moveToDelayed(state?.nextAttemptAt?.getTime() ?? Date.now() + 1000, token);
      throw new DelayedError();
    }
  }

  /** Backport: a handshake Bundle; success activates the subscription (R4 criteria and websocket: activate at once). */
  private async handshake(owner: string, sub: SubscriptionModel): Promise<'done' | 'retry' | 'gave-up'> {
    if (sub.status !== 'requested') return 'done';
    if (sub.topic && sub.channelType === 'rest-hook') {
      const state = await this.deps.events.state(sub.id);
      const result = await this.send(sub, 'handshake', [], state?.eventsSinceStart ?? 0, 'requested');
      if (!result.ok) return this.failure(owner, sub, result);
    }
    await setStatus(this.deps.store, sub.id, 'active', ['requested']);
    return 'done';
  }

  private async deliverPending(owner: string, sub: SubscriptionModel, deliveredThrough: number): Promise<'done' | 'retry' | 'gave-up'> {
    let through = deliveredThrough;
    const batch = sub.topic ? Math.max(1, sub.maxCount) : 1; // an R4 payload carries one resource
    for (;;) {
      const pending = await this.deps.events.events(sub.id, through + 1, Number.MAX_SAFE_INTEGER, batch);
      if (!pending.length) return 'done';
      const state = await this.deps.events.state(sub.id);
      const loaded = await this.load(sub, pending);
      const result = await this.send(sub, 'event-notification', loaded, state?.eventsSinceStart ?? pending[pending.length - 1].eventNumber, 'active');
      if (result.ok === 'nobody') return 'done'; // websocket with no one bound: events wait for a bind (then $events)
      if (!result.ok) return this.failure(owner, sub, result);
      through = pending[pending.length - 1].eventNumber;
      await this.deps.events.delivered(sub.id, owner, through, this.leaseMs);
    }
  }

  private async failure(owner: string, sub: SubscriptionModel, result: { error?: string }): Promise<'retry' | 'gave-up'> {
    const state = await this.deps.events.state(sub.id);
    const failures = (state?.failures ?? 0) + 1;
    const n = await this.deps.events.failed(sub.id, owner, result.error ?? 'failed', backoffMs(this.deps.config, failures));
    if (n < this.deps.config.maxAttempts) return 'retry';
    const reason = `Delivery to ${sub.endpoint} failed ${n} times; last error: ${result.error ?? 'unknown'}`;
    await setStatus(this.deps.store, sub.id, 'error', ['active', 'requested'], reason);
    return 'gave-up';
  }

  private async heartbeat(sub: SubscriptionModel): Promise<void> {
    if (sub.status !== 'active' || !sub.topic) return;
    const state = await this.deps.events.state(sub.id);
    await this.send(sub, 'heartbeat', [], state?.eventsSinceStart ?? 0, 'active');
    await this.deps.events.markSent(sub.id);
  }

  /** The resource versions a payload carries (full-resource, or an R4 payload). */
  private async load(sub: SubscriptionModel, events: SubscriptionEvent[]): Promise<LoadedEvent[]> {
    const wantsResource = sub.topic ? sub.content === 'full-resource' : !!sub.payload;
    return Promise.all(
      events.map(async (event) => {
        if (!wantsResource || event.interaction === 'delete') return { event };
        const v = await this.deps.store.vread(event.resourceType, event.resourceId, event.versionId);
        return { event, resource: v?.content ? (JSON.parse(v.content) as Resource) : undefined };
      }),
    );
  }

  /** One notification on the subscription's channel; every attempt is logged for $status. */
  private async send(sub: SubscriptionModel, type: NotificationType, events: LoadedEvent[], eventsSinceStart: number, status: string): Promise<{ ok: boolean | 'nobody'; error?: string }> {
    // Stable per content: the same events (or the same handshake) always carry the same id, across retries and workers.
    const notificationId = events.length ? `${sub.id}-${events[0].event.eventNumber}-${events[events.length - 1].event.eventNumber}` : `${sub.id}-${type}-${Date.now()}`;
    const { body, contentType } = notificationBody({ sub, type, status, eventsSinceStart, events, baseUrl: this.deps.baseUrl(), notificationId });
    const first = events[0]?.event.eventNumber;
    const last = events[events.length - 1]?.event.eventNumber;
    let result: PostResult;
    if (sub.channelType === 'websocket') {
      const started = performance.now();
      const listeners = await this.deps.publish(sub.id, body);
      if (!listeners) return { ok: 'nobody' };
      result = { ok: true, durationMs: performance.now() - started };
    } else {
      const headers: Record<string, string> = { ...sub.headers, [NOTIFICATION_ID_HEADER]: notificationId };
      if (contentType) headers['Content-Type'] = contentType;
      if (sub.secret) headers[SIGNATURE_HEADER] = signature(sub.secret, body);
      if (first !== undefined) headers['X-Subscription-Events'] = first === last ? String(first) : `${first}-${last}`;
      result = await post(sub.endpoint!, body, headers, sub.timeoutMs ?? this.deps.config.deliveryTimeoutMs, this.deps.policy);
    }
    await this.deps.events.logAttempt({ subscriptionId: sub.id, notificationId, kind: type, firstEvent: first, lastEvent: last, durationMs: result.durationMs, ok: result.ok, httpStatus: result.status, error: result.error });
    return { ok: result.ok, error: result.error };
  }
}

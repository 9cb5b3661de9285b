import type { Resource, Subscription } from '@medplum/fhirtypes';
import type { Db } from '../server/store/db.js';
import type { EventStore, SubscriptionEvent } from '../subscriptions/event-store.js';
import { SubscriptionIndex, type Change, type ChangeContext } from '../subscriptions/subscription-index.js';
import { toModel, type SubscriptionModel } from '../subscriptions/model.js';
import type { SearchEngine } from '../server/search/search.js';
import { DELIVERY_JOB_OPTIONS, type BatchJob, type DeliveryJob, type Queues } from './queues.js';
import { loadVersions, versionKey as key, type VersionKey } from './versions.js';

const FULL_RELOAD_MS = 30_000;

/** Subscriptions that still collect events (an `error` one keeps them for $events; `off` does not). */
export function collecting(sub: SubscriptionModel, now = Date.now()): boolean {
  return (sub.status === 'active' || sub.status === 'requested' || sub.status === 'error') && !(sub.end && sub.end.getTime() <= now);
}

/**
 * The match step: for each batch of changes, in seq order, which subscriptions it is an event for.
 * Numbers and stores those events (one transaction), then asks for their delivery. Keeps the
 * subscription cache in step with the change log: Subscription changes are applied in order, so a
 * write after a subscription's creation is matched against it.
 */
export class MatchStep {
  readonly index: SubscriptionIndex;
  private lastFullLoad = 0;

  constructor(
    private readonly db: Db,
    search: SearchEngine,
    private readonly events: EventStore,
    private readonly queues: Queues,
    /** This process's deliverer: a batch goes to it directly, with the versions read for matching, without a round trip through the delivery queue. */
    private readonly deliverHere?: (batch: BatchJob, loaded: Map<VersionKey, Resource>) => Promise<void>,
  ) {
    this.index = new SubscriptionIndex(search, db);
  }

  /** Every stored Subscription into the cache; the change-log position first, so nothing slips between. */
  async load(): Promise<void> {
    const [{ max }] = await this.db.query<{ max: number }>('SELECT COALESCE(max(seq), 0) AS max FROM change_log');
    const rows = await this.db.query<{ content: string }>("SELECT content FROM resources WHERE resource_type = 'Subscription' AND NOT deleted");
    for (const id of this.index.all().map((s) => s.id)) this.index.remove(id);
    for (const r of rows) this.apply(JSON.parse(r.content) as Subscription & { id: string });
    this.index.loadedThroughSeq = Math.max(this.index.loadedThroughSeq, Number(max));
    this.lastFullLoad = Date.now();
  }

  private apply(sub: (Subscription & { id: string }) | undefined, id?: string): SubscriptionModel | undefined {
    if (!sub) {
      if (id) this.index.remove(id);
      return undefined;
    }
    const model = toModel(sub);
    this.index.upsert(model);
    return model;
  }

  /**
   * A batch, retried here (not by BullMQ) until it is done: a failed job would go back to the queue
   * with a back-off and free the global slot, so the next batch could be numbered first and event
   * numbers would no longer follow change order. A re-run is harmless (events keep their numbers,
   * job ids repeat). Gives up only when the worker stops; the job then returns to the queue.
   */
  async processUntilDone(changes: Change[], stopping: () => boolean = () => false): Promise<SubscriptionEvent[]> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.process(changes);
      } catch (err) {
        if (stopping()) throw err;
        await new Promise((r) => setTimeout(r, Math.min(5000, 50 * 2 ** Math.min(attempt, 7))));
      }
    }
  }

  async process(changes: Change[]): Promise<SubscriptionEvent[]> {
    if (!changes.length) return [];
    if (Date.now() - this.lastFullLoad > FULL_RELOAD_MS) await this.load();
    await this.catchUp(changes[0].seq);
    const resources = await this.loadVersions(changes);
    const matches: { change: Change; subscriptionIds: string[] }[] = [];
    const lifecycle: DeliveryJob[] = [];
    for (const change of changes) {
      const current = resources.get(key(change.resourceType, change.id, change.versionId));
      if (change.resourceType === 'Subscription') {
        const model = this.apply(current as (Subscription & { id: string }) | undefined, change.id);
        if (model) lifecycle.push(...(await this.onSubscriptionChange(model, change)));
        continue;
      }
      const previous = change.versionId > 1 ? resources.get(key(change.resourceType, change.id, change.versionId - 1)) : undefined;
      const ctx: ChangeContext = { change, current, previous };
      const now = Date.now();
      const ids = (await this.index.match(ctx)).filter((s) => collecting(s, now)).map((s) => s.id);
      if (ids.length) matches.push({ change, subscriptionIds: ids });
    }
    this.index.loadedThroughSeq = Math.max(this.index.loadedThroughSeq, changes[changes.length - 1].seq);
    const events = matches.length ? await this.events.recordEvents(matches) : [];
    await this.requestDelivery(changes, events, lifecycle, resources);
    return events;
  }

  /** Subscription changes that another worker process matched since this one last looked. */
  private async catchUp(beforeSeq: number): Promise<void> {
    // This process matched the batch just before (no seq lies between): nothing to look for.
    if (beforeSeq <= this.index.loadedThroughSeq + 1) return;
    const rows = await this.db.query<{ id: string; version_id: number; seq: number }>(
      "SELECT id, version_id, seq FROM change_log WHERE resource_type = 'Subscription' AND seq > $1 AND seq < $2 ORDER BY seq",
      [this.index.loadedThroughSeq, beforeSeq],
    );
    if (!rows.length) return;
    const versions = await this.loadVersions(rows.map((r) => ({ resourceType: 'Subscription', id: r.id, versionId: r.version_id }) as Change));
    for (const r of rows) this.apply(versions.get(key('Subscription', r.id, r.version_id)) as (Subscription & { id: string }) | undefined, r.id);
  }

  /** Only the versions some subscription could care about: each change's own and the one before it. */
  private loadVersions(changes: Pick<Change, 'resourceType' | 'id' | 'versionId'>[]) {
    const wanted: [string, string, number][] = [];
    for (const c of changes) {
      if (c.resourceType !== 'Subscription' && !this.index.watches(c.resourceType)) continue;
      wanted.push([c.resourceType, c.id, c.versionId]);
      if (c.versionId > 1) wanted.push([c.resourceType, c.id, c.versionId - 1]);
    }
    return loadVersions(this.db, wanted);
  }

  /** requested -> handshake (which activates it); active again (e.g. after error) -> resume delivery. */
  private async onSubscriptionChange(model: SubscriptionModel, change: Change): Promise<DeliveryJob[]> {
    await this.events.ensureState(model.id);
    if (model.status === 'requested') return [{ kind: 'handshake', subscriptionId: model.id, versionId: change.versionId }];
    if (model.status === 'active') {
      await this.events.resetFailures(model.id);
      const state = await this.events.state(model.id);
      if (state && state.eventsSinceStart > state.deliveredThrough) {
        return [{ kind: 'events', subscriptionId: model.id, eventNumber: state.deliveredThrough + 1, versionId: change.versionId }];
      }
    }
    return [];
  }

  /**
   * The whole batch's events in one hand-over (the deliverer fans them out per subscription and
   * keeps each one's order): straight to this process's deliverer, or, when there is none or it
   * failed, as one delivery job whose id derives from the batch's seqs, so a re-run batch adds
   * nothing. The events are stored first either way: a hand-over lost with its process is found by
   * the sweep. Events of a `requested` subscription wait for its handshake; those of an `error` one
   * wait for the client to set it active again.
   */
  private async requestDelivery(changes: Change[], events: SubscriptionEvent[], lifecycle: DeliveryJob[], loaded: Map<VersionKey, Resource>): Promise<void> {
    const deliverable = events.filter((e) => this.index.get(e.subscriptionId)?.status === 'active');
    const jobs: { name: string; data: DeliveryJob; opts: typeof DELIVERY_JOB_OPTIONS }[] = [];
    if (deliverable.length) {
      const seqs = new Set(deliverable.map((e) => e.changeSeq));
      const versions: Record<string, number> = {};
      for (const e of deliverable) versions[e.subscriptionId] = this.index.get(e.subscriptionId)!.versionId;
      const batch: BatchJob = { kind: 'batch', changes: changes.filter((c) => seqs.has(c.seq)), events: deliverable.map((e) => [e.subscriptionId, e.eventNumber, e.changeSeq]), versions };
      const handedOver = this.deliverHere ? await this.deliverHere(batch, loaded).then(() => true, () => false) : false;
      if (!handedOver) jobs.push({ name: 'batch', data: batch, opts: { ...DELIVERY_JOB_OPTIONS, jobId: `batch_${changes[0].seq}_${changes[changes.length - 1].seq}` } });
    }
    for (const job of lifecycle) {
      if (job.kind === 'batch') continue;
      const id = job.kind === 'handshake' ? `handshake_${job.subscriptionId}_${job.versionId}` : `resume_${job.subscriptionId}_${Date.now()}`;
      jobs.push({ name: job.kind, data: job, opts: { ...DELIVERY_JOB_OPTIONS, jobId: id } });
    }
    if (jobs.length) await this.queues.deliveries.addBulk(jobs);
  }
}

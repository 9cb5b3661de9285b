import { evalFhirPath, evalFhirPathTyped, getParsedExpressionForResourceType, getSearchParameter, toTypedValue } from '@medplum/core';
import type { Identifier, Reference, Resource } from '@medplum/fhirtypes';
import type { SearchEngine } from '../server/search/search.js';
import type { Queryable } from '../server/store/db.js';
import type { Interaction } from '../server/store/store.js';
import type { FilterCriterion, SubscriptionModel } from './model.js';
import { TOPICS, type Topic, type TopicFilter } from './topics.js';

/** One committed change from the change log, as the relay hands it on. */
export interface Change {
  seq: number;
  resourceType: string;
  id: string;
  versionId: number;
  interaction: Interaction;
  changedAt: string;
}

/** The resource after the change (absent after delete) and before it (absent on create). */
export interface ChangeContext {
  change: Change;
  current?: Resource;
  previous?: Resource;
}

/**
 * The subscriptions of the hub, held in memory and indexed so a write costs a few evaluations, not
 * one per subscription: first by resource type (criteria type, or topic trigger resource), then,
 * where a subscription pins an exact reference or identifier (patient=Patient/1, pharmacy=FA123),
 * by that value. The SearchEngine's in-memory matcher has the final word, so criteria mean exactly
 * what they mean in search; a topic filter about a resource the changed one refers to (`via`) is
 * searched in the database, on that resource as it is now.
 */
export class SubscriptionIndex {
  private readonly byId = new Map<string, SubscriptionModel>();
  /** resource type -> subscriptions evaluated in full for every change of that type. */
  private readonly scanned = new Map<string, Set<string>>();
  /** resource type -> filter name -> pinned value -> subscriptions. */
  private readonly keyed = new Map<string, Map<string, Map<string, Set<string>>>>();
  /** Highest change-log seq whose Subscription changes are reflected here. */
  loadedThroughSeq = 0;

  constructor(
    private readonly search: SearchEngine,
    /** Where `via` filters are searched; without it they match nothing. */
    private readonly sql?: Queryable,
  ) {}

  get size(): number {
    return this.byId.size;
  }

  get(id: string): SubscriptionModel | undefined {
    return this.byId.get(id);
  }

  all(): SubscriptionModel[] {
    return [...this.byId.values()];
  }

  /** Whether any subscription could be interested in changes of this type (else the change is not even loaded). */
  watches(resourceType: string): boolean {
    return !!this.scanned.get(resourceType)?.size || !!this.keyed.get(resourceType)?.size;
  }

  upsert(model: SubscriptionModel): void {
    this.remove(model.id);
    this.byId.set(model.id, model);
    for (const [type, key] of indexKeys(model)) {
      if (!key) add(this.scanned, type, model.id);
      else {
        const byName = this.keyed.get(type) ?? new Map<string, Map<string, Set<string>>>();
        this.keyed.set(type, byName);
        add(byName, key.name, model.id, key.value);
      }
    }
  }

  remove(id: string): void {
    const old = this.byId.get(id);
    if (!old) return;
    this.byId.delete(id);
    for (const [type, key] of indexKeys(old)) {
      if (!key) this.scanned.get(type)?.delete(id);
      else this.keyed.get(type)?.get(key.name)?.get(key.value)?.delete(id);
    }
  }

  /** The subscriptions this change is an event for (status and end are the caller's concern). */
  async match(ctx: ChangeContext): Promise<SubscriptionModel[]> {
    const type = ctx.change.resourceType;
    const candidates = new Set(this.scanned.get(type) ?? []);
    const subject = ctx.current ?? ctx.previous;
    const keyedByName = this.keyed.get(type);
    if (subject && keyedByName) {
      for (const [name, byValue] of keyedByName) {
        for (const value of keyValues(subject, name)) for (const id of byValue.get(value) ?? []) candidates.add(id);
      }
    }
    const triggered = new Map<Topic, boolean>();
    const result: SubscriptionModel[] = [];
    for (const id of candidates) {
      const sub = this.byId.get(id);
      if (!sub) continue;
      if (sub.criteria ? this.criteriaMatch(sub.criteria, ctx) : await this.topicMatch(sub, ctx, triggered)) result.push(sub);
    }
    return result;
  }

  /** R4: a change is an event when the resource matches the criteria after it (before it, for a delete). */
  private criteriaMatch(criteria: FilterCriterion, ctx: ChangeContext): boolean {
    const subject = ctx.current ?? ctx.previous;
    return !!subject && subject.resourceType === criteria.resourceType && this.search.matches(subject, criteria.params);
  }

  private async topicMatch(sub: SubscriptionModel, ctx: ChangeContext, triggered: Map<Topic, boolean>): Promise<boolean> {
    const topic = sub.topic;
    if (!topic) return false;
    if (!triggered.has(topic)) triggered.set(topic, topicTriggered(topic, ctx));
    if (!triggered.get(topic)) return false;
    const subject = ctx.current ?? ctx.previous;
    if (!subject) return false;
    // Filters on other resource types do not narrow this one (Backport IG: filters apply per resource).
    const params = sub.filters.filter((f) => f.resourceType === subject.resourceType).flatMap((f) => [...f.params]);
    const defs = params.map(([name, value]) => ({ name, value, def: filterDef(topic, subject.resourceType, name) }));
    if (defs.some((d) => !d.def)) return false;
    // In memory first: the database is asked only about changes that pass everything else.
    if (!defs.every(({ def, name, value }) => def!.via || this.filterMatch(def!, name, value, subject))) return false;
    for (const { def, value } of defs) if (def!.via && !(await this.viaMatch(def!.via, value, subject))) return false;
    return true;
  }

  private filterMatch(def: TopicFilter, name: string, value: string, subject: Resource): boolean {
    if (def.identifierPath) return identifierValues(subject, def).some((v) => value.split(',').includes(v));
    const modifier = name.split(':')[1];
    return this.search.matches(subject, new URLSearchParams([[modifier ? `${def.searchParameter}:${modifier}` : def.searchParameter!, value]]));
  }

  /** The resource the subject refers to (its Slot's Schedule), as it is now, matches one of the search parameters. */
  private async viaMatch(via: NonNullable<TopicFilter['via']>, value: string, subject: Resource): Promise<boolean> {
    const targets = this.search.referenceTargets(subject, [via.reference]).filter((t) => t.resourceType === via.resource);
    if (!this.sql || !targets.length) return false;
    for (const param of via.searchParameters) {
      const criteria = new URLSearchParams([['_id', targets.map((t) => t.id).join(',')], [param, value]]);
      if ((await this.search.matchIds(this.sql, via.resource, criteria, 1)).length) return true;
    }
    return false;
  }
}

function filterDef(topic: Topic, resourceType: string, name: string): TopicFilter | undefined {
  return topic.filters.find((f) => f.resource === resourceType && f.filterParameter === name.split(':')[0]);
}

/** Does this change count as an event of the topic at all (before any subscriber's filters)? */
export function topicTriggered(topic: Topic, ctx: ChangeContext): boolean {
  return topic.triggers.some((t) => {
    if (t.resource !== ctx.change.resourceType || !t.supportedInteraction.includes(ctx.change.interaction)) return false;
    if (!t.fhirPathCriteria) return true;
    const vars = { '%previous': toTypedValue(ctx.previous ?? {}), '%current': toTypedValue(ctx.current ?? {}) };
    const out = evalFhirPathTyped(t.fhirPathCriteria, [toTypedValue(ctx.current ?? ctx.previous ?? {})], vars);
    return out.length > 0 && out.every((v) => v.value === true);
  });
}

function add<K>(map: Map<string, Map<K, Set<string>>> | Map<string, Set<string>>, type: string, id: string, value?: K): void {
  if (value === undefined) {
    const m = map as Map<string, Set<string>>;
    m.set(type, (m.get(type) ?? new Set()).add(id));
    return;
  }
  const m = map as Map<string, Map<K, Set<string>>>;
  const inner = m.get(type) ?? new Map<K, Set<string>>();
  m.set(type, inner);
  inner.set(value, (inner.get(value) ?? new Set()).add(id));
}

const PINNABLE = /^[A-Za-z]+\/[A-Za-z0-9\-.]{1,64}$/;

/**
 * Where the index files a subscription: [resource type, pinned filter or undefined]. A filter pins
 * when it is a plain reference (patient=Patient/1) or identifier filter with one value; otherwise
 * the subscription is scanned for every change of the type.
 */
function indexKeys(sub: SubscriptionModel): [string, { name: string; value: string } | undefined][] {
  if (sub.criteria) return [[sub.criteria.resourceType, pin(sub.criteria, (name) => referenceParam(sub.criteria!.resourceType, name))]];
  const topic = sub.topic;
  if (!topic) return [];
  return [...new Set(topic.triggers.map((t) => t.resource))].map((type) => {
    const f = sub.filters.find((c) => c.resourceType === type);
    return [type, f ? pin(f, (name) => topicKeyParam(topic, type, name)) : undefined];
  });
}

function pin(criterion: FilterCriterion, keyName: (param: string) => string | undefined): { name: string; value: string } | undefined {
  for (const [param, value] of criterion.params) {
    const name = keyName(param);
    if (!name || value.includes(',')) continue;
    if (name.startsWith('identifier:') || PINNABLE.test(value)) return { name, value };
  }
  return undefined;
}

function referenceParam(resourceType: string, param: string): string | undefined {
  return getSearchParameter(resourceType, param)?.type === 'reference' ? `${resourceType}:${param}` : undefined;
}

function topicKeyParam(topic: Topic, type: string, name: string): string | undefined {
  const def = topic.filters.find((f) => f.resource === type && f.filterParameter === name);
  if (def?.identifierPath) return `identifier:${topic.id}:${name}`;
  return def?.searchParameter ? referenceParam(type, def.searchParameter) : undefined;
}

/** The values of a resource under an index key: references as Type/id, identifiers as system|value and value. */
function keyValues(resource: Resource, name: string): string[] {
  if (name.startsWith('identifier:')) {
    const [, topicId, filter] = name.split(':');
    const def = TOPIC_FILTERS.get(`${topicId}:${filter}`);
    return def ? identifierValues(resource, def) : [];
  }
  const [type, param] = name.split(':');
  const sp = getSearchParameter(type, param);
  if (!sp?.expression) return [];
  const refs = evalFhirPath(getParsedExpressionForResourceType(type, sp.expression), resource) as Reference[];
  return refs.map((r) => r?.reference?.replace(/^.*\/([A-Za-z]+\/[^/]+)$/, '$1')).filter((r): r is string => !!r);
}

function identifierValues(resource: Resource, def: TopicFilter): string[] {
  const ids = evalFhirPath(def.identifierPath!, resource) as Identifier[];
  return ids.flatMap((i) => (i?.value ? [i.value, `${i.system ?? ''}|${i.value}`] : []));
}

const TOPIC_FILTERS = new Map(TOPICS.flatMap((t) => t.filters.map((f) => [`${t.id}:${f.filterParameter}`, f] as const)));

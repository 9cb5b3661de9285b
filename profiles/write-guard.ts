import { randomUUID } from 'node:crypto';
import type { OperationOutcomeIssue, Resource } from '@medplum/fhirtypes';
import type { Principal } from '../server/auth/principal';
import { currentCaller } from '../server/caller';
import { invalid } from '../server/errors';
import type { Store, WriteResult } from '../server/store/store';
import { canonicalUrl } from './conformance';
import { isKnownProfile, issuesAgainstProfiles } from './profile-registry';
import { businessRuleIssues, type ReadResource } from './write-rules';

// The write-time checks that need more than the resource itself: profiles required by configuration
// for a resource type, business rules that read other resources, and write rules that take part in
// a change (the slots a booking takes, a referral's state machine) and carry out its consequences.
// They sit on the store seam, so every write path (create, update, patch, conditional forms,
// transaction entries, messages) passes them without each handler having to remember to call them.

/** Resource type → canonical URLs every resource of that type must conform to (REQUIRED_PROFILES). */
export type RequiredProfiles = Readonly<Record<string, readonly string[]>>;

/** A change to one resource, judged inside its transaction once written. */
export interface WriteChange<T extends Resource = Resource> {
  /** The version this write replaced; absent for a create (or a re-create after a delete). */
  previous?: T;
  current: T & { id: string };
  /** The client that wrote it; absent for the hub's own writes (and when authentication is off). */
  writer?: Principal;
}

/**
 * A rule on writes of some types, run inside the write's transaction; throwing a FhirError refuses
 * the write and rolls everything back.
 * - `beforeWrite` sees the resource as it will be written (undefined for a delete) and may make
 *   writes that must commit with it (the slots a booking takes), on the store below this guard: its
 *   own writes are not hooked again.
 * - `afterWrite` runs once the row is written and locked (two racing writes are judged one after
 *   the other), with the previous version and the writer; `hub` writes as the hub itself (no writer,
 *   no access policy), for consequences such as a Communication back to the referrer.
 */
export interface WriteRule {
  types: readonly string[];
  beforeWrite?(tx: Store, resourceType: string, id: string, next: Resource | undefined): Promise<void>;
  afterWrite?(change: WriteChange, hub: Store): Promise<void>;
}

interface GuardSettings {
  required: RequiredProfiles;
  rules: readonly WriteRule[];
  /** The hub's own writes (a rule's consequences): never attributed to the client whose write caused them. */
  hub?: boolean;
}

/** Wraps a store so each create/update first passes required profiles and business rules (422 otherwise), then the write rules. */
export function guardStore(store: Store, required: RequiredProfiles, rules: readonly WriteRule[] = []): Store {
  for (const [type, urls] of Object.entries(required)) {
    for (const url of urls) if (!isKnownProfile(url)) throw new Error(`REQUIRED_PROFILES: ${type}=${url} is not a profile this server holds`);
  }
  return guard(store, { required, rules });
}

function guard(store: Store, settings: GuardSettings): Store {
  // A Proxy forwards whatever the Store seam grows to hold; only the writes and transaction are wrapped.
  const guarded: Store = new Proxy(store, {
    get(target, prop) {
      if (prop === 'create') {
        return (resource: Resource, id?: string) => {
          // Rules before the write need the id; the store would draw the same kind of id.
          const newId = id ?? (rulesFor(settings, resource.resourceType).some((r) => r.beforeWrite) ? randomUUID() : undefined);
          return write(target, settings, resource, newId ?? '', (s, r) => s.create(r, newId));
        };
      }
      if (prop === 'update') return (resource: Resource & { id: string }, ifMatch?: number) => write(target, settings, resource, resource.id, (s, r) => s.update(r as Resource & { id: string }, ifMatch));
      if (prop === 'delete') return (type: string, id: string, ifMatch?: number) => remove(target, settings, type, id, (s) => s.delete(type, id, ifMatch));
      if (prop === 'transaction') return <T>(fn: (s: Store) => Promise<T>) => target.transaction((tx) => fn(guard(tx, settings)));
      const value = Reflect.get(target, prop, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  policies.set(guarded, settings.required);
  return guarded;
}

const rulesFor = (settings: GuardSettings, type: string): WriteRule[] => settings.rules.filter((r) => r.types.includes(type));

async function write(target: Store, settings: GuardSettings, resource: Resource, id: string, put: (store: Store, resource: Resource) => Promise<WriteResult>): Promise<WriteResult> {
  const rules = rulesFor(settings, resource.resourceType);
  if (!rules.length) return put(target, await checked(guard(target, settings), resource));
  return target.transaction(async (tx) => {
    const valid = await checked(guard(tx, settings), resource);
    for (const rule of rules) await rule.beforeWrite?.(tx, resource.resourceType, id, valid);
    const written = await put(tx, valid);
    const after = rules.filter((r) => r.afterWrite);
    if (!after.length) return written;
    const previous = written.versionId > 1 ? await tx.vread(written.resourceType, written.id, written.versionId - 1) : undefined;
    const change: WriteChange = {
      previous: previous?.content ? (JSON.parse(previous.content) as Resource) : undefined,
      current: written.resource as Resource & { id: string },
      writer: settings.hub ? undefined : currentCaller(),
    };
    const hub = guard(tx, { ...settings, hub: true });
    for (const rule of after) await rule.afterWrite!(change, hub);
    return written;
  });
}

function remove<T>(target: Store, settings: GuardSettings, type: string, id: string, del: (store: Store) => Promise<T>): Promise<T> {
  const rules = rulesFor(settings, type).filter((r) => r.beforeWrite);
  if (!rules.length) return del(target);
  return target.transaction(async (tx) => {
    for (const rule of rules) await rule.beforeWrite!(tx, type, id, undefined);
    return del(tx);
  });
}

const policies = new WeakMap<object, RequiredProfiles>();

async function checked<T extends Resource>(store: Store, resource: T): Promise<T> {
  const issues = await writeRuleIssues(store, resource);
  if (issues.length) throw invalid(422, issues);
  return resource;
}

/**
 * What a write of this resource through this store would fail on, beyond validateResource:
 * profiles configuration requires and the resource does not already claim, then business rules.
 * Used by the guard and by $validate in create/update mode.
 */
export async function writeRuleIssues(store: Store, resource: Resource): Promise<OperationOutcomeIssue[]> {
  const claimed = (resource.meta?.profile ?? []).map(canonicalUrl);
  const required = (policies.get(store)?.[resource.resourceType] ?? []).filter((url) => !claimed.includes(canonicalUrl(url)));
  const profileProblems = required.length ? issuesAgainstProfiles(resource, required) : [];
  if (profileProblems.length) return profileProblems;
  return businessRuleIssues(resource, [...claimed, ...required], readerOf(store));
}

/** Reads the current version, treating a deleted resource as absent. */
function readerOf(store: Store): ReadResource {
  return async (type, id) => {
    const version = await store.read(type, id);
    return version && !version.deleted && version.content ? (JSON.parse(version.content) as Resource) : undefined;
  };
}

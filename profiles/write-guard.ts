import { AsyncLocalStorage } from 'node:async_hooks';
import type { OperationOutcomeIssue, Resource } from '@medplum/fhirtypes';
import type { Principal } from '../server/auth/principal';
import { invalid } from '../server/errors';
import type { ResourceVersion, Store, WriteResult } from '../server/store/store';
import { canonicalUrl } from './conformance';
import { isKnownProfile, issuesAgainstProfiles } from './profile-registry';
import { businessRuleIssues, type ReadResource } from './write-rules';

// The write-time checks that need more than the resource itself: profiles required by configuration
// for a resource type, business rules that read other resources, and write rules that judge a change
// (previous and current version, and who wrote it) and carry out its consequences. They sit on the
// store seam, so every write path (create, update, patch, conditional forms, transaction entries,
// messages) passes them without each handler having to remember to call them.

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
 * A rule on changes to resources of some types. It runs inside the write's transaction after the
 * row is written and locked (so two racing writes are judged one after the other); throwing refuses
 * the write and rolls everything back. `hub` writes as the hub itself: no writer, no access policy.
 */
export interface WriteRule {
  types: readonly string[];
  afterWrite(change: WriteChange, hub: Store): Promise<void>;
  /** Before a delete of a live resource of these types, inside its transaction; throwing refuses it. */
  beforeDelete?(current: Resource, hub: Store): Promise<void>;
}

interface GuardSettings {
  required: RequiredProfiles;
  rules: readonly WriteRule[];
  /** The hub's own writes (a rule's consequences): never attributed to the client whose write caused them. */
  hub?: boolean;
}

const policies = new WeakMap<object, RequiredProfiles>();

// Who is writing travels with the request rather than with the store: the store reaching the guard
// is wrapped by other layers (access, the read-only audit trail), per request and per transaction.
const writers = new AsyncLocalStorage<Principal>();

/** Wraps a store so each create/update first passes required profiles and business rules (422 otherwise), then the write rules. */
export function guardStore(store: Store, required: RequiredProfiles, rules: readonly WriteRule[] = []): Store {
  for (const [type, urls] of Object.entries(required)) {
    for (const url of urls) if (!isKnownProfile(url)) throw new Error(`REQUIRED_PROFILES: ${type}=${url} is not a profile this server holds`);
  }
  return guard(store, { required, rules });
}

/** Runs a request's interaction with its writes attributed to this client, for the write rules. */
export function writingAs<T>(writer: Principal | undefined, fn: () => Promise<T>): Promise<T> {
  return writer ? writers.run(writer, fn) : fn();
}

function guard(store: Store, settings: GuardSettings): Store {
  // A Proxy forwards whatever the Store seam grows to hold; only the writes and transaction are wrapped.
  const guarded: Store = new Proxy(store, {
    get(target, prop) {
      if (prop === 'create') return (resource: Resource, id?: string) => write(guarded, target, settings, resource, (s, r) => s.create(r, id));
      if (prop === 'update') return (resource: Resource & { id: string }, ifMatch?: number) => write(guarded, target, settings, resource, (s, r) => s.update(r as Resource & { id: string }, ifMatch));
      if (prop === 'delete') return (type: string, id: string, ifMatch?: number) => remove(target, settings, type, id, ifMatch);
      if (prop === 'transaction') return <T>(fn: (s: Store) => Promise<T>) => target.transaction((tx) => fn(guard(tx, settings)));
      const value = Reflect.get(target, prop, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  policies.set(guarded, settings.required);
  return guarded;
}

/** Checks, writes, and for types with write rules judges the change inside the same transaction. */
async function write(guarded: Store, target: Store, settings: GuardSettings, resource: Resource, put: (store: Store, resource: Resource) => Promise<WriteResult>): Promise<WriteResult> {
  const rules = settings.rules.filter((r) => r.types.includes(resource.resourceType));
  if (!rules.length) return put(target, await checked(guarded, resource));
  return target.transaction(async (tx) => {
    const written = await put(tx, await checked(guard(tx, settings), resource));
    const previous = written.versionId > 1 ? await tx.vread(written.resourceType, written.id, written.versionId - 1) : undefined;
    const change: WriteChange = {
      previous: previous?.content ? (JSON.parse(previous.content) as Resource) : undefined,
      current: written.resource as Resource & { id: string },
      writer: settings.hub ? undefined : writers.getStore(),
    };
    const hub = guard(tx, { ...settings, hub: true });
    for (const rule of rules) await rule.afterWrite(change, hub);
    return written;
  });
}

/** A delete, first put to the rules that judge deletes of the type. */
async function remove(target: Store, settings: GuardSettings, type: string, id: string, ifMatch?: number): Promise<ResourceVersion | undefined> {
  const rules = settings.rules.filter((r) => r.beforeDelete && r.types.includes(type));
  if (!rules.length) return target.delete(type, id, ifMatch);
  return target.transaction(async (tx) => {
    const current = await tx.read(type, id);
    if (current?.content && !current.deleted) {
      for (const rule of rules) await rule.beforeDelete?.(JSON.parse(current.content) as Resource, guard(tx, { ...settings, hub: true }));
    }
    return tx.delete(type, id, ifMatch);
  });
}

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

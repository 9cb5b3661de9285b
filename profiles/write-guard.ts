import { randomUUID } from 'node:crypto';
import type { OperationOutcomeIssue, Resource } from '@medplum/fhirtypes';
import { invalid } from '../server/errors';
import type { Store } from '../server/store/store';
import { canonicalUrl } from './conformance';
import { isKnownProfile, issuesAgainstProfiles } from './profile-registry';
import { businessRuleIssues, type ReadResource } from './write-rules';

// The write-time checks that need more than the resource itself: profiles required by configuration
// for a resource type, and business rules that read other resources. They sit on the store seam, so
// every write path (create, update, patch, conditional forms, transaction entries) passes them
// without each handler having to remember to call them.

/** Resource type → canonical URLs every resource of that type must conform to (REQUIRED_PROFILES). */
export type RequiredProfiles = Readonly<Record<string, readonly string[]>>;

/**
 * A rule that takes part in writes of some types and may refuse them (a FhirError) or make further
 * writes that must commit with them (slots a booking takes). It runs inside the write's transaction,
 * before it, on the store below this guard: its own writes are not hooked again.
 */
export interface WriteHook {
  types: readonly string[];
  /** `next` is the resource as it will be written; undefined for a delete. */
  onWrite(tx: Store, resourceType: string, id: string, next: Resource | undefined): Promise<void>;
}

const policies = new WeakMap<object, RequiredProfiles>();

/** Wraps a store so each create/update first passes required profiles and business rules (422 otherwise), and the write hooks. */
export function guardStore(store: Store, required: RequiredProfiles, hooks: readonly WriteHook[] = []): Store {
  for (const [type, urls] of Object.entries(required)) {
    for (const url of urls) if (!isKnownProfile(url)) throw new Error(`REQUIRED_PROFILES: ${type}=${url} is not a profile this server holds`);
  }
  return guard(store, required, hooks);
}

function guard(store: Store, required: RequiredProfiles, hooks: readonly WriteHook[]): Store {
  const hooked = <T>(target: Store, type: string, id: string, next: Resource | undefined, write: (s: Store) => Promise<T>): Promise<T> => {
    const applying = hooks.filter((h) => h.types.includes(type));
    if (!applying.length) return write(target);
    return target.transaction(async (tx) => {
      for (const hook of applying) await hook.onWrite(tx, type, id, next);
      return write(tx);
    });
  };
  // A Proxy forwards whatever the Store seam grows to hold; only the writes and transaction are wrapped.
  const guarded: Store = new Proxy(store, {
    get(target, prop) {
      if (prop === 'create') {
        return async (resource: Resource, id?: string) => {
          const checkedResource = await checked(guarded, resource);
          // Hooks need the id before the write; the store would draw the same kind of id.
          const newId = id ?? (hooks.some((h) => h.types.includes(resource.resourceType)) ? randomUUID() : undefined);
          return hooked(target, resource.resourceType, newId ?? '', checkedResource, (s) => s.create(checkedResource, newId));
        };
      }
      if (prop === 'update') {
        return async (resource: Resource & { id: string }, ifMatch?: number) => {
          const checkedResource = await checked(guarded, resource);
          return hooked(target, resource.resourceType, resource.id, checkedResource, (s) => s.update(checkedResource, ifMatch));
        };
      }
      if (prop === 'delete') return (type: string, id: string, ifMatch?: number) => hooked(target, type, id, undefined, (s) => s.delete(type, id, ifMatch));
      if (prop === 'transaction') return <T>(fn: (s: Store) => Promise<T>) => target.transaction((tx) => fn(guard(tx, required, hooks)));
      const value = Reflect.get(target, prop, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  policies.set(guarded, required);
  return guarded;
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


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

const policies = new WeakMap<object, RequiredProfiles>();

/** Wraps a store so each create/update first passes required profiles and business rules (422 otherwise). */
export function guardStore(store: Store, required: RequiredProfiles): Store {
  for (const [type, urls] of Object.entries(required)) {
    for (const url of urls) if (!isKnownProfile(url)) throw new Error(`REQUIRED_PROFILES: ${type}=${url} is not a profile this server holds`);
  }
  return guard(store, required);
}

function guard(store: Store, required: RequiredProfiles): Store {
  // A Proxy forwards whatever the Store seam grows to hold; only the writes and transaction are wrapped.
  const guarded: Store = new Proxy(store, {
    get(target, prop) {
      if (prop === 'create') return async (resource: Resource, id?: string) => target.create(await checked(guarded, resource), id);
      if (prop === 'update') return async (resource: Resource & { id: string }, ifMatch?: number) => target.update(await checked(guarded, resource), ifMatch);
      if (prop === 'transaction') return <T>(fn: (s: Store) => Promise<T>) => target.transaction((tx) => fn(guard(tx, required)));
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


import { AsyncLocalStorage } from 'node:async_hooks';
import type { Principal } from './auth/principal.js';

// Who a request in progress acts for, for the few write rules below the access layer that need it
// (slot booking restrictions and hold ownership). A rule reading it works on every write path
// (REST, transaction entries, messages) without each handler passing the caller down.
const callers = new AsyncLocalStorage<Principal | undefined>();

/** Runs fn as this caller (undefined: authentication is off, everyone an administrator). */
export function asCaller<T>(principal: Principal | undefined, fn: () => Promise<T>): Promise<T> {
  return callers.run(principal, fn);
}

/** The caller of the request in progress; undefined outside a request or with authentication off. */
export function currentCaller(): Principal | undefined {
  return callers.getStore();
}

import type { Resource, Subscription } from '@medplum/fhirtypes';
import type { Principal } from '../auth/principal.js';
import type { ResourceVersion } from '../store/store.js';

/** Tag system naming the client that wrote a Subscription: its notifications carry only what that client may read. */
const SUBSCRIPTION_OWNER = 'https://neighbourhood.example.org/fhir/CodeSystem/subscription-owner';

/**
 * A Subscription is owned by the client that writes it, whatever owner tag it was sent with; but an
 * administrator changing another client's subscription (setting an errored one back to active)
 * leaves it with its owner: otherwise its notifications would carry all an administrator may read.
 */
export function owned<T extends Resource>(resource: T, writer: Pick<Principal, 'clientId' | 'kind'>, before?: ResourceVersion): T {
  if (resource.resourceType !== 'Subscription') return resource;
  const previous = writer.kind === 'admin' && before?.content ? ownerOf(JSON.parse(before.content) as Subscription) : undefined;
  const tags = (resource.meta?.tag ?? []).filter((t) => t.system !== SUBSCRIPTION_OWNER);
  return { ...resource, meta: { ...resource.meta, tag: [...tags, { system: SUBSCRIPTION_OWNER, code: previous ?? writer.clientId }] } };
}

/** The owning client id; absent for subscriptions written while authentication was off. */
export function ownerOf(sub: Subscription): string | undefined {
  return sub.meta?.tag?.find((t) => t.system === SUBSCRIPTION_OWNER)?.code;
}

import type { Resource, Subscription } from '@medplum/fhirtypes';

/** Tag system naming the client that wrote a Subscription: its notifications carry only what that client may read. */
const SUBSCRIPTION_OWNER = 'https://neighbourhood.example.org/fhir/CodeSystem/subscription-owner';

/** A Subscription is owned by the client that writes it, whatever owner tag it was sent with. */
export function owned<T extends Resource>(resource: T, clientId: string): T {
  if (resource.resourceType !== 'Subscription') return resource;
  const tags = (resource.meta?.tag ?? []).filter((t) => t.system !== SUBSCRIPTION_OWNER);
  return { ...resource, meta: { ...resource.meta, tag: [...tags, { system: SUBSCRIPTION_OWNER, code: clientId }] } };
}

/** The owning client id; absent for subscriptions written while authentication was off. */
export function ownerOf(sub: Subscription): string | undefined {
  return sub.meta?.tag?.find((t) => t.system === SUBSCRIPTION_OWNER)?.code;
}

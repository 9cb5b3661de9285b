import type { Bundle, BundleEntry, Resource } from '@medplum/fhirtypes';

// The resources a message is about: written as sent (create or update, keyed on their identifier).
const FOCUS_TYPES = new Set(['MedicationRequest', 'Appointment']);

const firstIdentifier = (r: Resource): { system: string; value: string } | undefined => {
  const id = (r as { identifier?: Array<{ system?: string; value?: string }> }).identifier?.find((i) => i.system && i.value);
  return id ? { system: id.system as string, value: id.value as string } : undefined;
};

/**
 * A message Bundle as the transaction that stores it (https://hl7.org/fhir/R4/messaging.html).
 * The sender's meta (profile claims this server cannot check, their versions) is not kept:
 * the resources it is about are created or updated by identifier; the people, organisations and
 * places it mentions are created only if not already held (conditional create), so repeated
 * messages do not duplicate them; urn:uuid links are resolved by the transaction.
 */
export function messageAsTransaction(message: Bundle): Bundle {
  const entry: BundleEntry[] = (message.entry ?? []).map((e) => {
    const { meta: _sentMeta, id: _sentId, ...resource } = e.resource as Resource & { meta?: unknown };
    const type = resource.resourceType;
    const key = firstIdentifier(resource as Resource);
    const criteria = key && `identifier=${encodeURIComponent(key.system)}|${encodeURIComponent(key.value)}`;
    const request: BundleEntry['request'] =
      FOCUS_TYPES.has(type) && criteria ? { method: 'PUT', url: `${type}?${criteria}` } : { method: 'POST', url: type, ...(criteria ? { ifNoneExist: criteria } : {}) };
    return { ...(e.fullUrl ? { fullUrl: e.fullUrl } : {}), resource: resource as Resource, request };
  });
  return { resourceType: 'Bundle', type: 'transaction', entry };
}

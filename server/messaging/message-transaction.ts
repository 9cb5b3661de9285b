import type { Bundle, BundleEntry, Resource } from '@medplum/fhirtypes';
import { FhirError } from '../errors.js';

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
  const entry: BundleEntry[] = transactionOrder(message).map((i) => {
    const e = (message.entry ?? [])[i];
    const { meta: _sentMeta, id: _sentId, ...sent } = e.resource as Resource & { meta?: unknown };
    const resource = asReceived(sent as Resource);
    const type = resource.resourceType;
    const key = firstIdentifier(resource as Resource);
    const criteria = key && `identifier=${encodeURIComponent(key.system)}|${encodeURIComponent(key.value)}`;
    const request: BundleEntry['request'] =
      FOCUS_TYPES.has(type) && criteria ? { method: 'PUT', url: `${type}?${criteria}` } : { method: 'POST', url: type, ...(criteria ? { ifNoneExist: criteria } : {}) };
    return { ...(e.fullUrl ? { fullUrl: e.fullUrl } : {}), resource: resource as Resource, request };
  });
  return { resourceType: 'Bundle', type: 'transaction', entry };
}

/**
 * The order the transaction writes a message's entries in: the resources it is about last, as they
 * refer to the rest (an Appointment to the Slot it takes). Entry i of the transaction is entry
 * order[i] of the message.
 */
export function transactionOrder(message: Bundle): number[] {
  const focus = (i: number): number => Number(FOCUS_TYPES.has(message.entry?.[i]?.resource?.resourceType ?? ''));
  return (message.entry ?? []).map((_, i) => i).sort((a, b) => focus(a) - focus(b) || a - b);
}

/** An error of the transaction, pointed at the message's own entries. */
export function pointedAtMessage(err: unknown, order: number[]): unknown {
  if (!(err instanceof FhirError)) return err;
  const repoint = (text: string): string => text.replace(/Bundle\.entry\[(\d+)\]/g, (whole, n: string) => (Number(n) < order.length ? `Bundle.entry[${order[Number(n)]}]` : whole));
  const issues = err.outcome.issue.map((i) => ({ ...i, ...(i.diagnostics ? { diagnostics: repoint(i.diagnostics) } : {}), ...(i.expression ? { expression: i.expression.map(repoint) } : {}) }));
  return new FhirError(err.status, { ...err.outcome, issue: issues }, err.headers);
}

/**
 * A Slot a booking message carries is the one its Appointment takes: new to the hub, it is written
 * free and taken by the booking path (server/scheduling) in the same transaction, so a slot already
 * taken refuses the whole message with 409 instead of being booked twice.
 */
function asReceived(resource: Resource): Resource {
  return resource.resourceType === 'Slot' && (resource.status === 'busy' || resource.status === 'busy-tentative') ? { ...resource, status: 'free' } : resource;
}

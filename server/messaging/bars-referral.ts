import { randomUUID } from 'node:crypto';
import type { Bundle, BundleEntry, MessageHeader, Reference, ServiceRequest, Task } from '@medplum/fhirtypes';
import { badRequest } from '../errors.js';

// A BaRS referral (event servicerequest-request, https://fhir.nhs.uk/CodeSystem/message-events-bars)
// carries the ServiceRequest; the hub manages it as the SDOH Clinical Care IG does, with a referral
// Task beside it, so the receiving service tracks it like any other referral (server/referrals).

/**
 * The referral Task for the message's ServiceRequest (the header's focus, or its only
 * ServiceRequest): owner the request's performer (else the message's receiver), requester the
 * request's requester (else the sender). The ServiceRequest's entry gains a fullUrl if it had none.
 */
export function referralTaskEntry(message: Bundle, header: MessageHeader): BundleEntry<Task> {
  const entries = message.entry ?? [];
  const focus = header.focus?.[0]?.reference;
  const index = entries.findIndex((e) => e.resource?.resourceType === 'ServiceRequest' && (!focus || e.fullUrl === focus || focus.endsWith(`ServiceRequest/${e.resource.id}`)));
  if (index < 0) throw badRequest('A BaRS servicerequest-request message carries the ServiceRequest it is about (MessageHeader.focus)', 'Bundle.entry');
  const entry = entries[index];
  const request = entry.resource as ServiceRequest;
  const owner = (request.performer?.[0] ?? header.destination?.[0]?.receiver) as Reference | undefined;
  if (!owner) throw badRequest('The referral names no receiving service: ServiceRequest.performer or MessageHeader.destination.receiver', `Bundle.entry[${index}].resource.performer`);
  entry.fullUrl ??= `urn:uuid:${randomUUID()}`;
  const task: Task = {
    resourceType: 'Task',
    status: 'requested',
    intent: 'order',
    code: { coding: [{ system: 'http://hl7.org/fhir/CodeSystem/task-code', code: 'fulfill', display: 'Fulfill the focal request' }] },
    focus: { reference: entry.fullUrl },
    for: request.subject,
    authoredOn: new Date().toISOString(),
    requester: (request.requester ?? header.sender) as Task['requester'],
    owner: owner as Task['owner'],
    ...(request.identifier?.length ? { groupIdentifier: request.identifier[0] } : {}),
  };
  return { resource: task, request: { method: 'POST', url: 'Task' } };
}

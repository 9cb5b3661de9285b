import type { Resource } from '@medplum/fhirtypes';
import { MAX_PATIENTS, MAX_RESOURCES } from './from-exchange.js';
import { patientIdsOf } from './patients.js';
import type { AuditRecord } from './record.js';

export interface NotificationAttempt {
  subscriptionId: string;
  /** The focus of each event notified, with the version sent when the payload carried it. */
  events: Array<{ reference: string; resource?: Resource }>;
  /** The endpoint's HTTP status; 0 when it could not be reached. */
  status: number;
  error?: string;
  notificationId: string;
}

/** The audit record of one notification delivery attempt: what left the hub, to which subscription, and how it went. */
export function notificationRecord(attempt: NotificationAttempt): AuditRecord {
  const patients = new Set<string>();
  for (const { reference, resource } of attempt.events) {
    if (reference.startsWith('Patient/')) patients.add(reference.slice('Patient/'.length));
    if (resource) for (const id of patientsOf(resource)) patients.add(id);
  }
  const record: AuditRecord = {
    interaction: 'notification',
    status: attempt.status,
    resources: [...new Set(attempt.events.map((e) => e.reference))].slice(0, MAX_RESOURCES),
    patients: [...patients].slice(0, MAX_PATIENTS),
    subscription: `Subscription/${attempt.subscriptionId}`,
    requestId: attempt.notificationId,
  };
  if (attempt.error) record.description = attempt.error;
  return record;
}

/**
 * A resource version's patients, found once however many subscriptions are notified of it (the
 * deliverer hands every event of one version the same object): FHIRPath over the compartment
 * parameters, ten times per write that matches ten subscriptions, was most of an attempt's record.
 */
const patientsByVersion = new WeakMap<Resource, string[]>();
function patientsOf(resource: Resource): string[] {
  let ids = patientsByVersion.get(resource);
  if (!ids) patientsByVersion.set(resource, (ids = patientIdsOf(resource)));
  return ids;
}

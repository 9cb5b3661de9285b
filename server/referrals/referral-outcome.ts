import type { Communication, CommunicationPayload, Patient, PractitionerRole, Reference, ServiceRequest, Task } from '@medplum/fhirtypes';
import type { Store } from '../store/store.js';
import { readCurrent, referenceTo } from './parties.js';

// The message back to the referrer and the GP when a referral ends (PRSB Social Prescribing
// standard: "message back to GP and referrer"), recorded by the hub as a Communication about the
// Task, in the same transaction as the Task's final status.

/** Creates the Communication reporting how the referral ended; returns its id. */
export async function recordOutcome(hub: Store, task: Task & { id: string }, now: string): Promise<string> {
  const request = await focusOf(hub, task);
  const recipients = dedupe([task.requester, ...(await registeredPractices(hub, task))]);
  const communication: Communication = {
    resourceType: 'Communication',
    status: 'completed',
    basedOn: task.focus ? [task.focus] : undefined,
    partOf: [{ reference: `Task/${task.id}` }],
    about: [{ reference: `Task/${task.id}` }],
    subject: task.for as Reference<Patient>,
    topic: { text: `Referral ${task.status}` },
    sent: now,
    recipient: recipients as Communication['recipient'],
    sender: task.owner as Communication['sender'],
    payload: [{ contentString: summary(task, request) }, ...outputPayloads(task)],
  };
  return (await hub.create(communication)).id;
}

/** "Referral to Good Neighbours for befriending completed: ..." in words a GP reads at a glance. */
function summary(task: Task, request: ServiceRequest | undefined): string {
  const what = request?.code?.text ?? request?.code?.coding?.[0]?.display ?? task.description ?? 'the service requested';
  const to = task.owner?.display ?? task.owner?.reference ?? 'the receiving service';
  const reason = task.statusReason?.text ?? task.statusReason?.coding?.map((c) => c.display ?? c.code).find(Boolean);
  const why = reason ? `: ${reason}` : '';
  const outcome = (task.output ?? []).map((o) => o.valueString ?? o.valueCodeableConcept?.text ?? o.valueReference?.display).filter(Boolean);
  return `Referral to ${to} for ${what} ${task.status}${why}${outcome.length ? `. Outcome: ${outcome.join('; ')}` : ''}`;
}

/** Referenced outcomes (Procedures, Observations) travel as references; text outcomes are in the summary. */
function outputPayloads(task: Task): CommunicationPayload[] {
  return (task.output ?? []).flatMap((o) => (o.valueReference ? [{ contentReference: o.valueReference }] : []));
}

async function focusOf(hub: Store, task: Task): Promise<ServiceRequest | undefined> {
  const ref = referenceTo(task.focus, 'ServiceRequest');
  return ref ? readCurrent<ServiceRequest>(hub, 'ServiceRequest', ref.id) : undefined;
}

/** The patient's registered GP practice(s): Patient.generalPractitioner's organisations. */
async function registeredPractices(hub: Store, task: Task): Promise<Reference[]> {
  const ref = referenceTo(task.for, 'Patient');
  const patient = ref && (await readCurrent<Patient>(hub, 'Patient', ref.id));
  const practices: Reference[] = [];
  for (const gp of patient?.generalPractitioner ?? []) {
    if (referenceTo(gp, 'Organization') || gp.identifier) practices.push(gp);
    const role = referenceTo(gp, 'PractitionerRole');
    const organization = role && (await readCurrent<PractitionerRole>(hub, 'PractitionerRole', role.id))?.organization;
    if (organization) practices.push(organization);
  }
  return practices;
}

function dedupe(references: Array<Reference | undefined>): Reference[] {
  const seen = new Set<string>();
  return references.filter((r): r is Reference => {
    const key = r?.reference ?? (r?.identifier ? `${r.identifier.system}|${r.identifier.value}` : undefined);
    if (!r || !key || seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

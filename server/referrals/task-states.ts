import type { Task } from '@medplum/fhirtypes';

// The referral Task's state machine of the HL7 Gravity SDOH Clinical Care IG
// (StructureDefinition-SDOHCC-TaskForReferralManagement, "Status Management"), on the R4 Task codes
// (https://hl7.org/fhir/R4/task.html#statemachine; the IG's `canceled` is R4's `cancelled`).

export type TaskStatus = Task['status'];
/** Who may set a status: the requester, the owner (the IG's "responder"), or either. */
export type Party = 'requester' | 'owner';

/** Which party the IG lets set each status. */
export const SET_BY: Partial<Record<TaskStatus, readonly Party[]>> = {
  draft: ['requester'],
  requested: ['requester'],
  'entered-in-error': ['requester'],
  received: ['owner'],
  accepted: ['owner'],
  rejected: ['owner'],
  'in-progress': ['owner'],
  'on-hold': ['owner'],
  failed: ['owner'],
  completed: ['owner'],
  cancelled: ['requester', 'owner'],
};

/** A referral starts as a draft or as requested. */
export const INITIAL: readonly TaskStatus[] = ['draft', 'requested'];

/** Statuses after which nothing changes. */
export const FINAL: readonly TaskStatus[] = ['rejected', 'failed', 'cancelled', 'completed', 'entered-in-error'];

/** Statuses that end a referral with an outcome for the requester and the GP (entered-in-error ends it without one). */
export const OUTCOMES: readonly TaskStatus[] = ['completed', 'rejected', 'failed', 'cancelled'];

/** Statuses that need Task.statusReason to say why. */
export const NEEDS_REASON: readonly TaskStatus[] = ['rejected', 'failed', 'cancelled'];

/** Allowed next statuses: rejection before work starts, on-hold and failure once it has. */
const NEXT: Partial<Record<TaskStatus, readonly TaskStatus[]>> = {
  draft: ['requested', 'cancelled', 'entered-in-error'],
  requested: ['received', 'accepted', 'rejected', 'cancelled', 'entered-in-error'],
  received: ['accepted', 'rejected', 'cancelled', 'entered-in-error'],
  accepted: ['in-progress', 'cancelled', 'entered-in-error'],
  'in-progress': ['on-hold', 'completed', 'failed', 'cancelled', 'entered-in-error'],
  'on-hold': ['in-progress', 'failed', 'cancelled', 'entered-in-error'],
};

/** The statuses a referral in this status may move to (none once final). */
export function nextStatuses(from: TaskStatus | undefined): readonly TaskStatus[] {
  return from === undefined ? INITIAL : (NEXT[from] ?? []);
}

/** The next statuses this party may set. */
export function nextStatusesFor(from: TaskStatus | undefined, parties: readonly Party[]): TaskStatus[] {
  return nextStatuses(from).filter((s) => SET_BY[s]?.some((p) => parties.includes(p)));
}

export const isFinal = (status: TaskStatus | undefined): boolean => status !== undefined && FINAL.includes(status);

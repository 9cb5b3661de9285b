import { deepEquals } from '@medplum/core';
import type { ServiceRequest, Task } from '@medplum/fhirtypes';
import type { WriteChange, WriteRule } from '../../profiles/write-guard.js';
import { conflict, FhirError, issue, outcome, unprocessable } from '../errors.js';
import type { SearchEngine } from '../search/search.js';
import type { Store } from '../store/store.js';
import { addToCarePlan } from './care-plan-activity.js';
import { joinCareTeam, leaveCareTeam } from './care-team-membership.js';
import { partiesOf, readCurrent, referenceTo } from './parties.js';
import { recordOutcome } from './referral-outcome.js';
import { isFinal, NEEDS_REASON, nextStatuses, nextStatusesFor, OUTCOMES, type Party, SET_BY, type TaskStatus } from './task-states.js';

// A referral is a ServiceRequest and the Task that manages it (HL7 Gravity SDOH Clinical Care IG,
// SDOHCCTaskForReferralManagement). This rule holds every write of such a Task to the IG's state
// machine and parties, whatever the path (REST, PATCH, transaction, message), and carries out what
// follows in the same transaction: the ServiceRequest's status, the patient's shared care plan, the
// owner's care-team membership, and the outcome back to the referrer and the GP.

/** What the receiving organisation may change: the IG's responder updates the work, not the request. */
const OWNER_ELEMENTS = ['status', 'statusReason', 'businessStatus', 'output', 'note'];
/** Server-managed or narrative: never counted as a change by anyone. */
const IGNORED_ELEMENTS = ['meta', 'text'];

/** The ServiceRequest follows its Task: active while open, completed when done, revoked otherwise. Draft leaves it alone. */
const REQUEST_STATUS: Partial<Record<TaskStatus, ServiceRequest['status']>> = {
  requested: 'active',
  received: 'active',
  accepted: 'active',
  'in-progress': 'active',
  'on-hold': 'active',
  completed: 'completed',
  rejected: 'revoked',
  failed: 'revoked',
  cancelled: 'revoked',
  'entered-in-error': 'revoked',
};

/** A Task managing a ServiceRequest (its focus) is a referral. */
export const isReferral = (task: Task | undefined): boolean => !!referenceTo(task?.focus, 'ServiceRequest');

export function referralRule(search: SearchEngine): WriteRule {
  return {
    types: ['Task'],
    async afterWrite(change, hub) {
      const { previous, current } = change as WriteChange<Task>;
      if (!isReferral(current) && !isReferral(previous)) return;
      await judge(change as WriteChange<Task>, hub);
      if (previous?.status === current.status) return;
      await followThrough(hub, search, current, !previous);
    },
    async beforeWrite(tx, _type, id, next) {
      if (next) return;
      // A deleted referral would vanish from the requester's and the GP's view with no outcome.
      const current = await tx.read('Task', id);
      if (current?.content && !current.deleted && isReferral(JSON.parse(current.content) as Task)) {
        throw conflict(`Task/${id} is a referral: it is not deleted; the requester marks it entered-in-error, or either party cancels it`, 'Task.status');
      }
    },
  };
}

/** Refuses a change the IG does not allow: 409 for the state, 403 for the party, 422 for a missing reason or outcome. */
async function judge({ previous, current, writer }: WriteChange<Task>, hub: Store): Promise<void> {
  const at = `Task/${current.id}`;
  const from = previous?.status;
  const to = current.status;
  if (previous && isFinal(from)) throw conflict(`${at} is ${from}, a final state: it cannot change any more`, 'Task.status');
  // Otherwise a Task could leave the state machine by ceasing to be a referral.
  if (previous && !deepEquals(previous.focus, current.focus)) throw unprocessable(`${at}: a referral's focus (its ServiceRequest) cannot change; cancel it and make another`, 'Task.focus');
  // Without a client (the hub's own writes, or authentication off) only the state machine applies.
  const parties: Party[] = writer ? await partiesOf(hub, previous ?? current, writer) : ['requester', 'owner'];
  const who = writer && `${writer.kind} client ${writer.clientId} (${writer.org})`;
  if (!parties.length) throw refused(`${who} is neither the requester nor the owner of the referral ${at}; only they may ${previous ? 'change' : 'create'} it`, 'Task');
  if (from !== to) {
    const mine = nextStatusesFor(from, parties);
    const allowedNext = `${from ? `from ${from}` : 'a new referral'} may go to ${nextStatuses(from).join(', ')}${writer ? `; this client, as ${parties.join(' and ')}, may set ${mine.join(', ') || 'none of them'}` : ''}`;
    if (!nextStatuses(from).includes(to)) throw conflict(`${at}: status ${to} is not allowed here: ${allowedNext}`, 'Task.status');
    const setters = SET_BY[to] ?? [];
    if (!setters.some((p) => parties.includes(p))) throw refused(`${at}: only the ${setters.join(' or ')} may set status ${to}, and ${who} is the ${parties.join(' and ')}: ${allowedNext}`, 'Task.status');
  }
  if (previous && !parties.includes('requester')) {
    const changed = changedElements(previous, current).filter((e) => !OWNER_ELEMENTS.includes(e));
    if (changed.length) throw refused(`${at}: the owner may change only ${OWNER_ELEMENTS.join(', ')}; this update also changes ${changed.join(', ')}`, `Task.${changed[0]}`);
  }
  if (from !== to && NEEDS_REASON.includes(to) && !current.statusReason) throw unprocessable(`${at}: a referral ${to} needs Task.statusReason to say why`, 'Task.statusReason');
  if (from !== to && to === 'completed' && !current.output?.length) {
    throw unprocessable(`${at}: a completed referral carries its outcome in Task.output (references to Procedures or Observations, or a text summary)`, 'Task.output');
  }
}

function refused(diagnostics: string, expression: string): FhirError {
  return new FhirError(403, outcome(issue('forbidden', diagnostics, expression)));
}

/** Top-level elements that differ between two versions. */
function changedElements(previous: Task, current: Task): string[] {
  const [a, b] = [previous, current] as unknown as Array<Record<string, unknown>>;
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  return [...keys].filter((k) => !IGNORED_ELEMENTS.includes(k) && !deepEquals(a[k], b[k]));
}

/** The consequences of a new status, as the hub's own writes in the Task's transaction. */
async function followThrough(hub: Store, search: SearchEngine, task: Task & { id: string }, created: boolean): Promise<void> {
  const now = task.meta?.lastUpdated ?? new Date().toISOString();
  await followedByRequest(hub, task);
  if (created) await addToCarePlan(hub, search, task);
  if (task.status === 'accepted') await joinCareTeam(hub, search, task, now);
  if (isFinal(task.status)) await leaveCareTeam(hub, search, task, now);
  if (OUTCOMES.includes(task.status)) await recordOutcome(hub, task, now);
}

async function followedByRequest(hub: Store, task: Task): Promise<void> {
  const status = REQUEST_STATUS[task.status];
  const ref = referenceTo(task.focus, 'ServiceRequest');
  const request = status && ref && (await readCurrent<ServiceRequest & { id: string }>(hub, 'ServiceRequest', ref.id));
  if (request && status && request.status !== status) await hub.update({ ...request, status });
}

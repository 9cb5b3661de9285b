import type { CareTeam, CodeableConcept, Organization, PractitionerRole, Reference, Task } from '@medplum/fhirtypes';
import type { SearchEngine } from '../search/search.js';
import type { Store } from '../store/store.js';
import { readCurrent, referenceTo } from './parties.js';

// When the owner accepts a referral it joins the patient's active neighbourhood CareTeam, so the
// care-team topic fires and the policies give it what a team member may see; when the referral ends
// its participation's period ends (kept, not deleted, so the record shows who was in the team when).
// Both are the hub's own writes (the `hub` store): the client accepted a referral the requester
// made, and that consequence is not judged as the client widening its own access.

const MEMBER_KIND = 'https://fhir.neighbourhood-hub.example/CodeSystem/neighbourhood-member-kind';

/** The participant a referral adds carries this element id, so the referral can find it again. */
const participantId = (task: Task & { id: string }): string => `referral-${task.id}`;

/** Adds the Task's owner to the patient's active CareTeam (period starting now); nothing if the patient has none. */
export async function joinCareTeam(hub: Store, search: SearchEngine, task: Task & { id: string }, now: string): Promise<void> {
  const patient = referenceTo(task.for, 'Patient');
  const member = task.owner as Reference<Organization | PractitionerRole> | undefined;
  if (!patient || !(referenceTo(member, 'Organization') || referenceTo(member, 'PractitionerRole'))) return;
  const [teamId] = await search.matchIds(hub.sql, 'CareTeam', new URLSearchParams({ patient: `Patient/${patient.id}`, status: 'active' }), 1);
  const team = teamId ? await readCurrent<CareTeam & { id: string }>(hub, 'CareTeam', teamId) : undefined;
  // A referral is accepted once (the state machine never returns to accepted), so it joins once.
  if (!team || team.participant?.some((p) => p.id === participantId(task))) return;
  const role = await roleOf(hub, task);
  const participant = { id: participantId(task), ...(role ? { role: [role] } : {}), member: member as Reference<Organization | PractitionerRole>, period: { start: now } };
  await hub.update({ ...team, participant: [...(team.participant ?? []), participant] });
}

/** Ends the period of the participation this referral added, wherever it is (the team may have closed since). */
export async function leaveCareTeam(hub: Store, search: SearchEngine, task: Task & { id: string }, now: string): Promise<void> {
  const patient = referenceTo(task.for, 'Patient');
  if (!patient || !task.owner?.reference) return;
  const criteria = new URLSearchParams({ patient: `Patient/${patient.id}`, participant: task.owner.reference });
  for (const id of await search.matchIds(hub.sql, 'CareTeam', criteria, 20)) {
    const team = await readCurrent<CareTeam & { id: string }>(hub, 'CareTeam', id);
    if (!team?.participant?.some((p) => p.id === participantId(task) && !p.period?.end)) continue;
    const participant = team.participant.map((p) => (p.id === participantId(task) && !p.period?.end ? { ...p, period: { ...p.period, end: now } } : p));
    await hub.update({ ...team, participant });
  }
}

/** The owner's part in the team: the kind of member its organisation is (a voluntary organisation, a GP practice...). */
async function roleOf(hub: Store, task: Task): Promise<CodeableConcept | undefined> {
  let org = referenceTo(task.owner, 'Organization');
  const roleRef = referenceTo(task.owner, 'PractitionerRole');
  if (roleRef) org = referenceTo((await readCurrent<PractitionerRole>(hub, 'PractitionerRole', roleRef.id))?.organization, 'Organization');
  const organization = org && (await readCurrent<Organization>(hub, 'Organization', org.id));
  const kind = organization?.type?.flatMap((t) => t.coding ?? []).find((c) => c.system === MEMBER_KIND);
  return kind ? { coding: [kind] } : undefined;
}

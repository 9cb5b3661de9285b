import { randomUUID } from 'node:crypto';
import { formatHumanName } from '@medplum/core';
import type { Bundle, CareTeam, Coding, ContactPoint, Medication, MedicationRequest, Organization, Practitioner, PractitionerRole, Resource } from '@medplum/fhirtypes';
import { parseLocal } from '../fhir/reference.js';
import { isCurrentCoordinator } from '../../profiles/write-rules.js';
import { CARE_TEAM_QUERY } from '../rest/operations/care-team.js';
import type { FhirContext } from '../rest/request.js';
import { describePrescriber, DUPLICATE_THERAPY, roleName } from '../medicines/detected-issues.js';
import { allOn, gatherMedicationRecords, medicationLookup, type MedicationRecords } from '../medicines/gather.js';
import { identify, type MedicineIdentity } from '../medicines/medicine-identity.js';
import { duplicationsOf, groupMedicines, POLYPHARMACY_THRESHOLD, type Duplication, type Medicine, type Prescriber } from '../medicines/medicines.js';
import { draftResources, type HookRequest } from './hook-request.js';

/** A CDS Hooks 2.0 card (https://cds-hooks.hl7.org/2.0/#card-attributes). */
export interface Card {
  uuid: string;
  summary: string;
  detail?: string;
  indicator: 'info' | 'warning' | 'critical';
  source: { label: string; topic?: Coding };
  suggestions?: Array<{ label: string; uuid: string; isRecommended?: boolean; actions: Array<{ type: 'delete'; description: string; resourceId: string }> }>;
  selectionBehavior?: 'at-most-one' | 'any';
  overrideReasons?: Coding[];
}

const SOURCE_LABEL = 'Neighbourhood FHIR hub: medicines across prescribers';
const OVERRIDE_SYSTEM = 'https://fhir.neighbourhood-hub.example/CodeSystem/cds-override-reason';
/** Why a prescriber may keep a duplicate; the feedback endpoint records the one chosen. */
export const OVERRIDE_REASONS: Coding[] = [
  { system: OVERRIDE_SYSTEM, code: 'both-intended', display: 'Both prescriptions are intended' },
  { system: OVERRIDE_SYSTEM, code: 'other-being-stopped', display: 'The other prescription is being stopped' },
  { system: OVERRIDE_SYSTEM, code: 'not-taking-other', display: 'The patient no longer takes the other medicine' },
];
/** CDS Hooks: "One-sentence, <140-character summary". */
const MAX_SUMMARY = 139;

/** The cards for a hook call: a warning per draft duplicating a medicine in use, an info card for polypharmacy. */
export async function medicineCards(request: HookRequest, ctx: FhirContext): Promise<Card[]> {
  if (request.drafts.length === 0) return [];
  const searchCtx = { sql: ctx.store.sql, baseUrl: ctx.baseUrl, strict: false };
  const [records, team] = await allOn<MedicationRecords | Bundle>(ctx.store.sql, [
    () => gatherMedicationRecords(ctx.search, searchCtx, request.patientId),
    () => ctx.search.search(searchCtx, 'CareTeam', CARE_TEAM_QUERY(request.patientId)),
  ]) as [MedicationRecords, Bundle];
  // Drafts not yet stored are not in use: a re-sent draft with a stored id must not duplicate itself.
  const draftIds = new Set(request.drafts.map((d) => d.id));
  records.requests = records.requests.filter((r) => !draftIds.has(r.id));
  const sent = draftResources(request);
  await readMedications(request.drafts, sent, records.referenced, ctx);
  const fromDrafts = medicationLookup(sent, ctx.baseUrl);
  const medicines = groupMedicines(records, ctx.baseUrl, fromDrafts);
  const lookup = (ref: string): Medication | undefined => medicationLookup(records.referenced, ctx.baseUrl)(ref) ?? fromDrafts(ref);
  const careTeam = new CareTeamDirectory((team.entry ?? []).map((e) => e.resource).filter((r): r is Resource => !!r));

  const cards: Card[] = [];
  let newMedicines = 0;
  for (const draft of request.drafts) {
    const identity = identify(draft, lookup);
    const duplications = duplicationsOf(identity, medicines);
    if (!duplications.some((d) => !d.ingredient)) newMedicines++;
    if (duplications.length) cards.push(duplicateCard(draft, identity, duplications, careTeam));
  }
  const inUse = medicines.length + newMedicines;
  if (inUse >= POLYPHARMACY_THRESHOLD) cards.push(polypharmacyCard(inUse, medicines));
  return cards;
}

/** Stored Medications the drafts name that are not already at hand, read as the client may see them. */
async function readMedications(drafts: MedicationRequest[], sent: Map<string, Resource>, known: Map<string, Resource>, ctx: FhirContext): Promise<void> {
  for (const draft of drafts) {
    const ref = parseLocal(draft.medicationReference?.reference ?? '', ctx.baseUrl);
    if (ref?.resourceType !== 'Medication') continue;
    const key = `Medication/${ref.id}`;
    if (sent.has(key) || known.has(key)) continue;
    const stored = await ctx.store.read('Medication', ref.id);
    if (stored?.content && !stored.deleted) sent.set(key, JSON.parse(stored.content) as Medication);
  }
}

function duplicateCard(draft: MedicationRequest, identity: MedicineIdentity, duplications: Duplication[], careTeam: CareTeamDirectory): Card {
  const first = duplications[0];
  const by = whoPrescribed(first.medicine);
  const summary = clip(
    first.ingredient
      ? `${identity.display} contains ${first.ingredient}, already ${by} (${first.medicine.identity.display})`
      : `${identity.display} is already ${by}`,
  );
  const lines = [`**${identity.display}** duplicates a medicine the patient already has:`, ''];
  for (const d of duplications) {
    const m = d.medicine;
    lines.push(`- **${m.identity.display}**${d.ingredient ? ` (shares the active ingredient ${d.ingredient})` : ''}`);
    for (const p of m.prescribers) lines.push(`  - prescribed by ${describePrescriber(p)}. ${careTeam.howToReach(p)}`);
    if (!m.prescribers.length) lines.push('  - recorded as taken (no prescription on record)');
    if (m.lastDispensed) lines.push(`  - last dispensed ${m.lastDispensed.slice(0, 10)}`);
  }
  const coordinator = careTeam.coordinator();
  if (coordinator) lines.push('', `Care coordinator: ${coordinator}.`);
  return {
    uuid: randomUUID(),
    summary,
    detail: lines.join('\n'),
    indicator: 'warning',
    source: { label: SOURCE_LABEL, topic: DUPLICATE_THERAPY },
    suggestions: [
      {
        label: `Remove the draft prescription for ${identity.display}`,
        uuid: randomUUID(),
        isRecommended: true,
        actions: [{ type: 'delete', description: `Remove the draft order for ${identity.display}`, resourceId: `MedicationRequest/${draft.id}` }],
      },
    ],
    selectionBehavior: 'at-most-one',
    overrideReasons: OVERRIDE_REASONS,
  };
}

/** "prescribed by Riverside Surgery and High Street Pharmacy", or "taken (the patient's own record)". */
function whoPrescribed(m: Medicine): string {
  const names = [...new Set(m.prescribers.map((p) => p.organization?.name ?? describePrescriber(p)))];
  if (!names.length) return "taken (the patient's own record)";
  return `prescribed by ${names.length > 2 ? `${names.slice(0, 2).join(', ')} and ${names.length - 2} more` : names.join(' and ')}`;
}

function polypharmacyCard(inUse: number, medicines: Medicine[]): Card {
  const organisations = new Set(medicines.flatMap((m) => m.prescribers.map((p) => p.organisationKey)));
  return {
    uuid: randomUUID(),
    summary: clip(`${inUse} medicines in use with this prescription: consider a structured medication review`),
    detail: [`The patient has ${inUse} medicines in use from ${organisations.size} prescribing organisation(s):`, '', ...medicines.map((m) => `- ${m.identity.display}`)].join('\n'),
    indicator: 'info',
    source: { label: SOURCE_LABEL, topic: { system: 'https://fhir.neighbourhood-hub.example/CodeSystem/medicines-issue', code: 'polypharmacy', display: 'Polypharmacy' } },
  };
}

function clip(text: string): string {
  return text.length <= MAX_SUMMARY ? text : `${text.slice(0, MAX_SUMMARY - 1)}…`;
}

/** The patient's active care teams, to say how to reach a prescriber and who coordinates care. */
class CareTeamDirectory {
  private readonly byRef = new Map<string, Resource>();
  private readonly teams: CareTeam[] = [];

  constructor(resources: Resource[]) {
    for (const r of resources) {
      this.byRef.set(`${r.resourceType}/${r.id}`, r);
      if (r.resourceType === 'CareTeam') this.teams.push(r);
    }
  }

  /** "Care team member (General practitioner); contact Riverside Surgery: 0113 496 0001." */
  howToReach(p: Prescriber): string {
    const member = this.teams.flatMap((t) => t.participant ?? []).find((m) => m.member?.reference && [p.roleReference, p.organizationReference].includes(m.member.reference));
    const inTeam = member ? `Care team member (${member.role?.[0]?.coding?.[0]?.display ?? roleName(p) ?? 'member'}); ` : 'Not in the care team; ';
    const contact = contactOf(p.role, p.practitioner, p.organization);
    return `${inTeam}${contact ? `contact ${contact}.` : 'no contact details on record.'}`;
  }

  coordinator(): string | undefined {
    const participant = this.teams.flatMap((t) => t.participant ?? []).find((m) => !!m.member?.reference && isCurrentCoordinator(m));
    if (!participant?.member?.reference) return undefined;
    const role = this.byRef.get(participant.member.reference) as PractitionerRole | undefined;
    const practitioner = role?.practitioner?.reference ? (this.byRef.get(role.practitioner.reference) as Practitioner | undefined) : undefined;
    const organization = role?.organization?.reference ? (this.byRef.get(role.organization.reference) as Organization | undefined) : undefined;
    const name = practitioner?.name?.[0] ? formatHumanName(practitioner.name[0]) : (participant.member.display ?? participant.member.reference);
    const contact = contactOf(role, practitioner, organization);
    return `${name}${organization?.name ? ` (${organization.name})` : ''}${contact ? `, ${contact}` : ''}`;
  }
}

/** The most direct way to reach someone: their role's telecom, then their own, then their organisation's. */
function contactOf(role: PractitionerRole | undefined, practitioner: Practitioner | undefined, organization: Organization | undefined): string | undefined {
  const format = (t: ContactPoint[] | undefined): string | undefined => t?.filter((c) => c.value).map((c) => c.value).join(', ') || undefined;
  const direct = format(role?.telecom) ?? format(practitioner?.telecom);
  if (direct) return direct;
  const org = format(organization?.telecom);
  return org && `${organization?.name ?? 'their organisation'}: ${org}`;
}

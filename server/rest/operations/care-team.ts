import type { Bundle, CareTeam, CareTeamParticipant } from '@medplum/fhirtypes';
import { issue, notFound, outcome } from '../../errors.js';
import { registerOperation } from '../operations.js';

export const CARE_COORDINATOR = { system: 'http://snomed.info/sct', code: '768820003' };

/**
 * The one request that answers "who is this patient's single point of contact, and who else is in
 * the team": the active CareTeams, their members, and the members' organisation, site and service.
 * The same as GET /CareTeam?patient=Patient/{id}&status=active&_include=... (see CARE_TEAM_QUERY).
 */
export const CARE_TEAM_QUERY = (patientId: string): URLSearchParams =>
  new URLSearchParams([
    ['patient', `Patient/${patientId}`],
    ['status', 'active'],
    ['_include', 'CareTeam:participant'],
    ['_include', 'CareTeam:managing-organization'],
    ['_include:iterate', 'PractitionerRole:practitioner'],
    ['_include:iterate', 'PractitionerRole:organization'],
    ['_include:iterate', 'PractitionerRole:location'],
    ['_include:iterate', 'PractitionerRole:service'],
    ['_count', '100'],
  ]);

registerOperation({
  name: 'care-team',
  instance: true,
  idempotent: true,
  resourceTypes: ['Patient'],
  definition: 'https://fhir.neighbourhood-hub.example/OperationDefinition/Patient-care-team',
  async handler(req, ctx, { id }) {
    const patient = await ctx.store.read('Patient', id as string);
    if (!patient || patient.deleted) throw notFound(`Patient/${id} is not known`);
    const bundle: Bundle = await ctx.search.search({ sql: ctx.store.sql, baseUrl: ctx.baseUrl, strict: !!req.headers.strict }, 'CareTeam', CARE_TEAM_QUERY(id as string));
    const teams = (bundle.entry ?? []).filter((e) => e.search?.mode === 'match').map((e) => e.resource as CareTeam);
    const coordinators = teams.flatMap((t) => (t.participant ?? []).filter(isCurrentCoordinator));
    const said =
      coordinators.length === 0
        ? `Patient/${id} has no named care coordinator in an active care team`
        : `Care coordinator of Patient/${id}: ${coordinators.map((c) => c.member?.display ?? c.member?.reference).join(', ')}`;
    bundle.entry = [...(bundle.entry ?? []).filter((e) => e.search?.mode !== 'outcome'), { resource: outcome(issue('informational', said, undefined, 'information')), search: { mode: 'outcome' } }];
    bundle.link = [{ relation: 'self', url: `${ctx.baseUrl}/Patient/${id}/$care-team` }];
    return { status: 200, body: bundle };
  },
});

/** A participant in the care-coordinator role whose period (if any) includes now. */
export function isCurrentCoordinator(p: CareTeamParticipant): boolean {
  const now = Date.now();
  const current = (!p.period?.start || Date.parse(p.period.start) <= now) && (!p.period?.end || Date.parse(p.period.end) >= now);
  return current && !!p.role?.some((r) => r.coding?.some((c) => c.system === CARE_COORDINATOR.system && c.code === CARE_COORDINATOR.code));
}

import type { Bundle, CareTeam } from '@medplum/fhirtypes';
import { issue, notFound, outcome } from '../../errors.js';
import { isCurrentCoordinator, NEIGHBOURHOOD_CARE_PLAN } from '../../../profiles/write-rules.js';
import type { Operation } from '../operations.js';

/**
 * The one request that answers "who is this patient's single point of contact, and who else is in
 * the team": the active CareTeams, their members, and the members' organisation, site and service,
 * with the patient's active shared care plan (ACTIVE_PLAN_QUERY) as an include.
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

/** The patient's active NeighbourhoodCarePlan (one at most: server/care/one-active-plan.ts). */
export const ACTIVE_PLAN_QUERY = (patientId: string): URLSearchParams =>
  new URLSearchParams([
    ['patient', `Patient/${patientId}`],
    ['status', 'active'],
    ['_profile', NEIGHBOURHOOD_CARE_PLAN],
  ]);

export const careTeamOperation: Operation = {
  name: 'care-team',
  instance: true,
  idempotent: true,
  resourceTypes: ['Patient'],
  definition: 'https://fhir.neighbourhood-hub.example/OperationDefinition/Patient-care-team',
  async handler(req, ctx, { id }) {
    const patient = await ctx.store.read('Patient', id as string);
    if (!patient || patient.deleted) throw notFound(`Patient/${id} is not known`);
    const searchCtx = { sql: ctx.store.sql, baseUrl: ctx.baseUrl, strict: !!req.headers.strict };
    const bundle: Bundle = await ctx.search.search(searchCtx, 'CareTeam', CARE_TEAM_QUERY(id as string));
    const plans = ((await ctx.search.search(searchCtx, 'CarePlan', ACTIVE_PLAN_QUERY(id as string))).entry ?? []).filter((e) => e.search?.mode === 'match');
    const teams = (bundle.entry ?? []).filter((e) => e.search?.mode === 'match').map((e) => e.resource as CareTeam);
    const coordinators = teams.flatMap((t) => (t.participant ?? []).filter(isCurrentCoordinator));
    const said =
      coordinators.length === 0
        ? `Patient/${id} has no named care coordinator in an active care team`
        : `Care coordinator of Patient/${id}: ${coordinators.map((c) => c.member?.display ?? c.member?.reference).join(', ')}`;
    const plan = plans.length ? `; shared care plan CarePlan/${plans[0].resource?.id}` : '; no active shared care plan';
    bundle.entry = [
      ...(bundle.entry ?? []).filter((e) => e.search?.mode !== 'outcome'),
      ...plans.map((e) => ({ ...e, search: { mode: 'include' as const } })),
      { resource: outcome(issue('informational', said + plan, undefined, 'information')), search: { mode: 'outcome' as const } },
    ];
    bundle.link = [{ relation: 'self', url: `${ctx.baseUrl}/Patient/${id}/$care-team` }];
    return { status: 200, body: bundle };
  },
};

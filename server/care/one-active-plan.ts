import type { CarePlan } from '@medplum/fhirtypes';
import type { WriteRule } from '../../profiles/write-guard.js';
import { NEIGHBOURHOOD_CARE_PLAN } from '../../profiles/write-rules.js';
import { conflict } from '../errors.js';
import { parseRelative } from '../fhir/reference.js';
import type { SearchEngine } from '../search/search.js';
import type { Store } from '../store/store.js';

// Any constant: serialises the writes of one patient's plans (hashed with the patient into the lock key).
const PLAN_LOCK_SPACE = 7_042;

const isNeighbourhoodPlan = (plan: CarePlan | undefined): boolean => !!plan?.meta?.profile?.some((p) => p.split('|')[0] === NEIGHBOURHOOD_CARE_PLAN);

/**
 * A patient has one active shared care plan: a second NeighbourhoodCarePlan made active for the
 * same patient is refused (409). Writes for one patient take a lock first, so two plans written at
 * once are judged one after the other (the second sees the first once it commits).
 */
export function oneActivePlanRule(search: SearchEngine): WriteRule {
  return {
    types: ['CarePlan'],
    async afterWrite({ current }, hub) {
      const plan = current as CarePlan & { id: string };
      const patient = plan.subject?.reference;
      if (plan.status !== 'active' || !isNeighbourhoodPlan(plan) || !patient) return;
      const criteria = new URLSearchParams({ patient, status: 'active', _profile: NEIGHBOURHOOD_CARE_PLAN });
      const other = (await activePlans(hub, search, patient, criteria)).find((id) => id !== plan.id);
      if (other) throw conflict(`${patient} already has an active neighbourhood care plan (CarePlan/${other}); revise that one, or end it before another becomes active`, 'CarePlan.status');
    },
  };
}

/**
 * The patient's active neighbourhood plans (two at most). A patient created in this transaction is
 * seen by no other until it commits, so its plans are those written here: no lock, no statement.
 */
async function activePlans(hub: Store, search: SearchEngine, patient: string, criteria: URLSearchParams): Promise<string[]> {
  const here = hub.writtenHere;
  const ref = parseRelative(patient);
  if (here && ref?.resourceType === 'Patient' && here.isNew('Patient', ref.id)) {
    return here.referringTo('CarePlan', `Patient/${ref.id}`).filter((p) => search.matches(p, criteria)).slice(0, 2).map((p) => p.id as string);
  }
  await hub.sql.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [PLAN_LOCK_SPACE, patient]);
  return search.matchIds(hub.sql, 'CarePlan', criteria, 2);
}

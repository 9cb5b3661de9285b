import type { CarePlan, Task } from '@medplum/fhirtypes';
import { NEIGHBOURHOOD_CARE_PLAN } from '../../profiles/write-rules.js';
import type { SearchEngine } from '../search/search.js';
import type { Store } from '../store/store.js';
import { readCurrent, referenceTo } from './parties.js';

/**
 * A referral made for a patient with an active shared care plan becomes one of its activities (a
 * reference to the ServiceRequest, whose status follows the referral's Task), as the hub's own write.
 */
export async function addToCarePlan(hub: Store, search: SearchEngine, task: Task): Promise<void> {
  const patient = referenceTo(task.for, 'Patient');
  const request = referenceTo(task.focus, 'ServiceRequest');
  if (!patient || !request) return;
  const criteria = new URLSearchParams({ patient: `Patient/${patient.id}`, status: 'active', _profile: NEIGHBOURHOOD_CARE_PLAN });
  const [planId] = await search.matchIds(hub.sql, 'CarePlan', criteria, 1);
  const plan = planId ? await readCurrent<CarePlan & { id: string }>(hub, 'CarePlan', planId) : undefined;
  const reference = `ServiceRequest/${request.id}`;
  if (!plan || plan.activity?.some((a) => a.reference?.reference === reference)) return;
  await hub.update({ ...plan, activity: [...(plan.activity ?? []), { reference: { reference, display: task.description } }] });
}

import { allOn, gatherMedicationRecords, type MedicationRecords } from '../../medicines/gather.js';
import type { ResourceVersion } from '../../store/store.js';
import { medicationListBundle, reviewMedicines } from '../../medicines/medication-list.js';
import { notFound } from '../../errors.js';
import type { Operation } from '../operations.js';

/**
 * Patient/{id}/$medications: every medicine the patient has in use, from every prescriber the client
 * may see, as one List with the problems found (duplicate therapy, polypharmacy) as DetectedIssues.
 */
export const medicationsOperation: Operation = {
  name: 'medications',
  instance: true,
  idempotent: true,
  resourceTypes: ['Patient'],
  definition: 'https://fhir.neighbourhood-hub.example/OperationDefinition/Patient-medications',
  async handler(_req, ctx, { id }) {
    ctx.access?.require('MedicationRequest', 's');
    // The patient check and the searches are independent: on a pool they run at once.
    const [patient, records] = (await allOn<unknown>(ctx.store.sql, [
      () => ctx.store.read('Patient', id as string),
      () => gatherMedicationRecords(ctx.search, { sql: ctx.store.sql, baseUrl: ctx.baseUrl, strict: false }, id as string),
    ])) as [ResourceVersion | undefined, MedicationRecords];
    if (!patient || patient.deleted) throw notFound(`Patient/${id} is not known`);
    return { status: 200, body: medicationListBundle(records, reviewMedicines(records, ctx.baseUrl), ctx.baseUrl) };
  },
};

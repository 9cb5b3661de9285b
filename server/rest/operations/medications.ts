import { gatherMedicationRecords } from '../../medicines/gather.js';
import { medicationListBundle, reviewMedicines } from '../../medicines/medication-list.js';
import { notFound } from '../../errors.js';
import { registerOperation } from '../operations.js';

/**
 * Patient/{id}/$medications: every medicine the patient has in use, from every prescriber the client
 * may see, as one List with the problems found (duplicate therapy, polypharmacy) as DetectedIssues.
 */
registerOperation({
  name: 'medications',
  instance: true,
  idempotent: true,
  resourceTypes: ['Patient'],
  definition: 'https://fhir.neighbourhood-hub.example/OperationDefinition/Patient-medications',
  async handler(_req, ctx, { id }) {
    const patient = await ctx.store.read('Patient', id as string);
    if (!patient || patient.deleted) throw notFound(`Patient/${id} is not known`);
    ctx.access?.require('MedicationRequest', 's');
    const records = await gatherMedicationRecords(ctx.search, { sql: ctx.store.sql, baseUrl: ctx.baseUrl, strict: false }, id as string);
    return { status: 200, body: medicationListBundle(records, reviewMedicines(records, ctx.baseUrl), ctx.baseUrl) };
  },
});

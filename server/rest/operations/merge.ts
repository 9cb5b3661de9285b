import type { Identifier, OperationOutcome, Parameters, ParametersParameter, Patient, Reference, Resource } from '@medplum/fhirtypes';
import { patientCompartment } from '../../care/compartment-walk.js';
import { checkMergeable, mergedTarget, repointed, retiredSource } from '../../care/patient-merge.js';
import { parseLocal } from '../../fhir/reference.js';
import { badRequest, issue, notFound, outcome, preconditionFailed } from '../../errors.js';
import type { Store } from '../../store/store.js';
import { validateResource } from '../../../profiles/validator.js';
import type { Operation } from '../operations.js';
import type { FhirContext } from '../request.js';
import { parseContent } from '../versioning.js';
import { parametersBody } from './parameters.js';

/**
 * Patient/$merge (the R5 operation, offered on R4): moves every reference from the source to the
 * target, links the two and retires the source, all in one transaction, so subscribers hear of
 * each changed resource through the change log.
 */
export const mergeOperation: Operation = {
  name: 'merge',
  type: true,
  resourceTypes: ['Patient'],
  definition: 'http://hl7.org/fhir/OperationDefinition/Patient-merge',
  async handler(req, ctx) {
    const input = parametersBody(req);
    if (!input) throw badRequest('$merge takes a Parameters body');
    const param = (name: string): ParametersParameter[] => input.parameter?.filter((p) => p.name === name) ?? [];
    const preview = param('preview')[0]?.valueBoolean === true;
    const resultParam = param('result-patient')[0]?.resource;
    if (resultParam && resultParam.resourceType !== 'Patient') throw badRequest('result-patient must be a Patient', 'Parameters.parameter.result-patient');
    const result = resultParam ? (validateResource(resultParam) as Patient) : undefined;

    return ctx.store.transaction(async (store) => {
      const tctx: FhirContext = { ...ctx, store };
      const source = await resolvePatient(tctx, 'source-patient', param('source-patient')[0]?.valueReference, param('source-patient-identifier').map((p) => p.valueIdentifier as Identifier));
      const target = await resolvePatient(tctx, 'target-patient', param('target-patient')[0]?.valueReference, param('target-patient-identifier').map((p) => p.valueIdentifier as Identifier));
      checkMergeable(source, target, result);

      const compartment = await patientCompartment(ctx.search, { sql: store.sql, baseUrl: ctx.baseUrl, strict: false }, source.id as string);
      const moved = compartment
        .filter((r) => !(r.resourceType === 'Patient' && (r.id === source.id || r.id === target.id)))
        .map((r) => repointed(r, source.id as string, target.id as string, ctx.baseUrl))
        .filter((r): r is Resource => !!r);
      const survivor = mergedTarget(source, target, result);
      const said = `${preview ? 'Would move' : 'Moved'} ${moved.length} resource(s) from Patient/${source.id} to Patient/${target.id}; Patient/${source.id} ${preview ? 'would be' : 'is'} marked replaced-by and inactive`;
      if (!preview) {
        for (const r of moved) await store.update(r as Resource & { id: string });
        await store.update(retiredSource(source, target.id as string) as Patient & { id: string });
        const written = await store.update(survivor as Patient & { id: string });
        return { status: 200, body: output(input, outcome(issue('informational', said, undefined, 'information')), parseContent(written)) };
      }
      return { status: 200, body: output(input, outcome(issue('informational', said, undefined, 'information')), survivor) };
    });
  },
};

function output(input: Parameters, oo: OperationOutcome, result: Resource): Parameters {
  return {
    resourceType: 'Parameters',
    parameter: [
      { name: 'input', resource: input },
      { name: 'outcome', resource: oo },
      { name: 'result', resource: result },
    ],
  };
}

/** A patient named by reference or by identifiers: exactly one must match. */
async function resolvePatient(ctx: FhirContext, name: string, reference: Reference | undefined, identifiers: Identifier[]): Promise<Patient> {
  const where = `Parameters.parameter.${name}`;
  let id: string | undefined;
  if (reference?.reference) {
    const ref = parseLocal(reference.reference, ctx.baseUrl);
    if (!ref || ref.resourceType !== 'Patient') throw badRequest(`${name} must reference a Patient, e.g. Patient/123`, where);
    id = ref.id;
  } else if (identifiers.length) {
    const criteria = new URLSearchParams(identifiers.map((i) => ['identifier', `${i.system ?? ''}|${i.value ?? ''}`]));
    const ids = await ctx.search.matchIds(ctx.store.sql, 'Patient', criteria, 2);
    if (ids.length > 1) throw preconditionFailed(`The ${name}-identifier matches more than one Patient`, `${where}-identifier`);
    id = ids[0];
    if (!id) throw notFound(`No Patient has the ${name}-identifier given`);
  } else {
    throw badRequest(`$merge needs ${name} (a reference) or ${name}-identifier`, where);
  }
  return readPatient(ctx.store, id);
}

async function readPatient(store: Store, id: string): Promise<Patient> {
  const v = await store.read('Patient', id);
  if (!v || v.deleted) throw notFound(`Patient/${id} is not known`);
  return parseContent(v) as Patient;
}

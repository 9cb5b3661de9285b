import type { Bundle, Patient } from '@medplum/fhirtypes';
import { candidateSearches, scoreCandidate, type ScoredMatch } from '../../care/patient-match.js';
import { badRequest } from '../../errors.js';
import type { Operation } from '../operations.js';
import { parseContent } from '../versioning.js';
import { validateResource } from '../../../profiles/validator.js';
import { operationParams, parametersBody } from './parameters.js';

const MATCH_GRADE = 'http://hl7.org/fhir/StructureDefinition/match-grade';
const CANDIDATES_PER_SEARCH = 500;

/** Patient/$match: https://hl7.org/fhir/R4/patient-operation-match.html */
export const matchOperation: Operation = {
  name: 'match',
  type: true,
  idempotent: false,
  resourceTypes: ['Patient'],
  definition: 'http://hl7.org/fhir/OperationDefinition/Patient-match',
  async handler(req, ctx) {
    const body = parametersBody(req);
    const resource = body?.parameter?.find((p) => p.name === 'resource')?.resource;
    if (!resource) throw badRequest(`$match needs a 'resource' parameter holding the Patient to match`, 'Parameters.parameter.resource');
    if (resource.resourceType !== 'Patient') throw badRequest(`$match matches a Patient, not ${resource.resourceType}`, 'Parameters.parameter.resource.resourceType');
    const sought = validateResource(resource) as Patient;
    const params = operationParams(req);
    const onlyCertain = params.get('onlyCertainMatches') === 'true';
    const countText = params.get('count');
    const count = countText === null ? undefined : Number(countText);
    if (count !== undefined && (!Number.isInteger(count) || count < 1)) throw badRequest('count must be a positive integer', 'Parameters.parameter.count');

    const ids = new Set<string>();
    for (const criteria of candidateSearches(sought)) {
      for (const id of await ctx.search.matchIds(ctx.store.sql, 'Patient', criteria, CANDIDATES_PER_SEARCH)) ids.add(id);
    }
    const candidates = (await ctx.store.readMany([...ids].map((id) => ({ resourceType: 'Patient', id })))).map((v) => parseContent(v) as Patient);
    let matches = candidates
            // A record merged away points at its survivor; only the survivor is a match.
      .filter((p) => !p.link?.some((l) => l.type === 'replaced-by'))
      .map((p) => scoreCandidate(sought, p))
      .filter((m): m is ScoredMatch => !!m && (!onlyCertain || m.grade === 'certain'))
      .sort((a, b) => b.score - a.score);
    if (count !== undefined) matches = matches.slice(0, count);
    const bundle: Bundle = {
      resourceType: 'Bundle',
      type: 'searchset',
      total: matches.length,
      entry: matches.map((m) => ({
        fullUrl: `${ctx.baseUrl}/Patient/${m.patient.id}`,
        resource: m.patient,
        search: { mode: 'match', score: m.score, extension: [{ url: MATCH_GRADE, valueCode: m.grade }] },
      })),
    };
    return { status: 200, body: bundle };
  },
};

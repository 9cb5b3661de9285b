import { randomUUID } from 'node:crypto';
import type { CodeableConcept, Coding, Parameters, ValueSet } from '@medplum/fhirtypes';
import { expansionContains, findValueSet, validateCodeIn } from '../../../profiles/terminology.js';
import { validateResource } from '../../../profiles/validator.js';
import { badRequest, FhirError, issue, notFound, outcome } from '../../errors.js';
import type { Operation } from '../operations.js';
import type { FhirContext, FhirRequest } from '../request.js';
import { parseContent } from '../versioning.js';
import { operationParams, parametersBody } from './parameters.js';

// $expand and $validate-code for the ValueSets the server holds: ours and core R4.
// https://hl7.org/fhir/R4/valueset-operation-expand.html, https://hl7.org/fhir/R4/valueset-operation-validate-code.html

const MAX_EXPANSION = 1000;

/** The ValueSet an operation is about: the stored instance, a `valueSet` parameter, or one held by `url`. */
async function targetValueSet(req: FhirRequest, ctx: FhirContext, id: string | undefined, params: URLSearchParams): Promise<ValueSet> {
  if (id) {
    const stored = await ctx.store.read('ValueSet', id);
    if (!stored || stored.deleted) throw notFound(`ValueSet/${id} is not known`);
    return parseContent(stored) as ValueSet;
  }
  const given = parametersBody(req)?.parameter?.find((p) => p.name === 'valueSet')?.resource;
  // A ValueSet sent inline is one FHIR would accept, before its codes are read and echoed back.
  if (given?.resourceType === 'ValueSet') return validateResource(given) as ValueSet;
  const url = params.get('url');
  if (!url) throw badRequest('Name the value set with url (or invoke the operation on a ValueSet instance)', 'Parameters.parameter.url');
  const held = findValueSet(url);
  if (!held) throw notFound(`This server does not hold the value set ${url}`);
  return held;
}

function nonNegative(params: URLSearchParams, name: string, fallback: number): number {
  const text = params.get(name);
  if (text === null) return fallback;
  const n = Number(text);
  // An integer as FHIR has them: 32 bits (https://hl7.org/fhir/R4/datatypes.html#integer).
  if (!/^\d{1,10}$/.test(text) || n > 2_147_483_647) throw badRequest(`${name} must be a whole number from 0 to 2147483647; got '${text}'`, `Parameters.parameter.${name}`);
  return n;
}

export const expandOperation: Operation = {
  name: 'expand',
  type: true,
  instance: true,
  idempotent: true,
  resourceTypes: ['ValueSet'],
  definition: 'http://hl7.org/fhir/OperationDefinition/ValueSet-expand',
  async handler(req, ctx, { id }) {
    const params = operationParams(req);
    const valueSet = await targetValueSet(req, ctx, id, params);
    const all = expansionContains(valueSet);
    if (!all) {
      throw new FhirError(422, outcome(issue('too-costly', `The value set ${valueSet.url} uses filters, imports or code systems this server does not hold, so it cannot be expanded here`)));
    }
    const filter = params.get('filter')?.toLowerCase();
    const matching = filter ? all.filter((c) => c.code?.toLowerCase().includes(filter) || c.display?.toLowerCase().includes(filter)) : all;
    const offset = nonNegative(params, 'offset', 0);
    const count = Math.min(nonNegative(params, 'count', MAX_EXPANSION), MAX_EXPANSION);
    const { compose: _compose, meta: _meta, ...rest } = valueSet;
    const expanded: ValueSet = {
      ...rest,
      expansion: {
        identifier: `urn:uuid:${randomUUID()}`,
        timestamp: new Date().toISOString(),
        total: matching.length,
        offset,
        parameter: [
          ...(filter ? [{ name: 'filter', valueString: params.get('filter') as string }] : []),
          { name: 'offset', valueInteger: offset },
          { name: 'count', valueInteger: count },
        ],
        contains: matching.slice(offset, offset + count),
      },
    };
    return { status: 200, body: expanded };
  },
};

export const validateCodeOperation: Operation = {
  name: 'validate-code',
  type: true,
  instance: true,
  idempotent: true,
  resourceTypes: ['ValueSet'],
  definition: 'http://hl7.org/fhir/OperationDefinition/ValueSet-validate-code',
  async handler(req, ctx, { id }) {
    const params = operationParams(req);
    const valueSet = await targetValueSet(req, ctx, id, params);
    const codings = codingsToCheck(req, params);
    const check = validateCodeIn(valueSet, codings);
    if (!check) {
      throw new FhirError(422, outcome(issue('too-costly', `The value set ${valueSet.url} cannot be expanded here, so codes cannot be checked against it`)));
    }
    const result: Parameters = { resourceType: 'Parameters', parameter: [{ name: 'result', valueBoolean: check.result }] };
    if (check.message) result.parameter!.push({ name: 'message', valueString: check.message });
    if (check.display) result.parameter!.push({ name: 'display', valueString: check.display });
    return { status: 200, body: result };
  },
};

/** code (+system, display), coding, or codeableConcept: one of them is required. */
function codingsToCheck(req: FhirRequest, params: URLSearchParams): Coding[] {
  const code = params.get('code');
  if (code) return [{ code, system: params.get('system') ?? undefined, display: params.get('display') ?? undefined }];
  const body = parametersBody(req)?.parameter ?? [];
  const coding = body.find((p) => p.name === 'coding')?.valueCoding;
  const concept: CodeableConcept | undefined = body.find((p) => p.name === 'codeableConcept')?.valueCodeableConcept;
  const codings: unknown = coding ? [coding] : concept?.coding;
  if (Array.isArray(codings) && codings.length) {
    // Codings as the client sent them: each an object whose code and system are strings.
    const bad = codings.findIndex((c: Coding | null) => typeof c !== 'object' || c === null || !['code', 'system', 'display'].every((k) => ['string', 'undefined'].includes(typeof c[k as keyof Coding])));
    if (bad >= 0) throw badRequest(`${coding ? 'coding' : `codeableConcept.coding[${bad}]`} must be a Coding (code, system and display strings)`, `Parameters.parameter.${coding ? 'coding' : 'codeableConcept'}`);
    return codings as Coding[];
  }
  throw badRequest('$validate-code needs code (with system), coding or codeableConcept', 'Parameters.parameter.code');
}

import type { CapabilityStatement, CapabilityStatementRestResource, OperationOutcome, OperationOutcomeIssue, Parameters, Resource } from '@medplum/fhirtypes';
import { resourceProfiles } from '../../../profiles/conformance.js';
import { validationReport } from '../../../profiles/validator.js';
import { badRequest, issue, notFound } from '../../errors.js';
import type { Operation } from '../operations.js';
import type { FhirContext, FhirRequest } from '../request.js';
import { parseContent } from '../versioning.js';
import { operationParams } from './parameters.js';

// $validate: https://hl7.org/fhir/R4/resource-operation-validate.html
// Answers 200 with an OperationOutcome whatever it finds; 4xx only when it cannot validate at all.

type Mode = 'create' | 'update' | 'delete' | undefined;

export const validateOperation: Operation = {
  name: 'validate',
  type: true,
  instance: true,
  // GET validates the stored instance (or checks a delete); nothing is ever written.
  idempotent: true,
  definition: 'http://hl7.org/fhir/OperationDefinition/Resource-validate',
  async handler(req, ctx, { type, id }) {
    const resourceType = type as string;
    const params = operationParams(req.body && isParameters(req.body, resourceType) ? req : { ...req, body: undefined });
    const mode = parseMode(params.get('mode'));
    const profiles = params.getAll('profile');
    if (mode === 'delete') return { status: 200, body: await checkDelete(ctx, resourceType, id) };
    const resource = (await resourceToValidate(req, ctx, resourceType, id)) as Resource;
    if (mode === 'update' && !id && !resource.id) throw badRequest('mode=update needs the id of the resource to update, in the URL or the resource', `${resourceType}.id`);
    if (id && resource.id && resource.id !== id) throw badRequest(`The id in the resource (${resource.id}) differs from the id in the URL (${id})`, `${resourceType}.id`);
    let issues = validationReport(resource, { profiles });
    // Required profiles and business rules apply to writes, so they are checked when a write mode is named.
    if (!issues.some((i) => i.severity === 'error') && mode) {
      const problems = await ctx.store.writeIssues(resource);
      if (problems.length) issues = problems;
    }
    return { status: 200, body: report(issues) };
  },
};

function isParameters(body: unknown, type: string): boolean {
  return type !== 'Parameters' && (body as { resourceType?: string }).resourceType === 'Parameters';
}

function parseMode(mode: string | null): Mode {
  if (mode === null) return undefined;
  if (mode === 'create' || mode === 'update' || mode === 'delete') return mode;
  throw badRequest(`mode must be create, update or delete; got '${mode}'`, 'Parameters.parameter.mode');
}

/** The resource in the body (bare, or a Parameters `resource`), else the stored instance. */
async function resourceToValidate(req: FhirRequest, ctx: FhirContext, type: string, id: string | undefined): Promise<unknown> {
  const body = req.body as Record<string, unknown> | undefined;
  if (body && isParameters(body, type)) {
    const resource = (body as unknown as Parameters).parameter?.find((p) => p.name === 'resource')?.resource;
    if (resource) return checkType(resource, type);
  } else if (body !== undefined && body !== null && !(body instanceof URLSearchParams)) {
    return checkType(body, type);
  }
  if (!id) throw badRequest(`$validate needs a ${type} in the body, or a 'resource' parameter`, 'Parameters.parameter.resource');
  const stored = await ctx.store.read(type, id);
  if (!stored || stored.deleted) throw notFound(`${type}/${id} is not known`);
  return parseContent(stored);
}

function checkType(resource: unknown, type: string): unknown {
  const actual = (resource as { resourceType?: unknown }).resourceType;
  if (typeof resource === 'object' && resource !== null && actual !== type) throw badRequest(`The resource is a ${String(actual)}, but the URL is for ${type}`, 'resourceType');
  return resource;
}

/** mode=delete: this server refuses no delete of an existing resource, so the only question is whether it exists. */
async function checkDelete(ctx: FhirContext, type: string, id: string | undefined): Promise<OperationOutcome> {
  if (!id) throw badRequest('mode=delete is invoked on an instance: [type]/[id]/$validate', 'Parameters.parameter.mode');
  const stored = await ctx.store.read(type, id);
  if (!stored || stored.deleted) throw notFound(`${type}/${id} is not known`);
  return report([]);
}

function report(issues: OperationOutcomeIssue[]): OperationOutcome {
  if (issues.length) return { resourceType: 'OperationOutcome', issue: issues };
  return { resourceType: 'OperationOutcome', issue: [issue('informational', 'No problems found', undefined, 'information')] };
}

/** The profiles this server holds, per resource type: https://hl7.org/fhir/R4/capabilitystatement-definitions.html#CapabilityStatement.rest.resource.supportedProfile */
export function supportedProfiles(statement: CapabilityStatement): void {
  const byType = new Map<string, string[]>();
  for (const sd of resourceProfiles()) byType.set(sd.type as string, [...(byType.get(sd.type as string) ?? []), sd.url as string]);
  for (const resource of statement.rest?.[0]?.resource ?? ([] as CapabilityStatementRestResource[])) {
    const urls = byType.get(resource.type as string);
    if (urls) resource.supportedProfile = [...(resource.supportedProfile ?? []), ...urls];
  }
}

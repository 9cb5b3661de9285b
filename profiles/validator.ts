import type { OperationOutcomeIssue, Resource } from '@medplum/fhirtypes';
import { invalid, issue } from '../server/errors';
import { buildFieldTables } from './element-index';
import { ElementWalker } from './element-walk';
import { invariantIssues } from './invariants';
import { compileAllProfiles, issuesAgainstProfiles } from './profile-registry';
import { loadR4Definitions } from './r4-definitions';
import { compileStructureValidators, structureIssues } from './structure';

// The base R4 write validator: https://hl7.org/fhir/R4/validation.html
// Stages run in order and the first that finds problems reports all of its own, and nothing after it.

let resourceTypes: ReadonlySet<string> | undefined;
let walker: ElementWalker | undefined;

/** Loads and indexes the R4 definitions once (call at start; idempotent). About 3 s. */
export function initValidator(): void {
  if (walker) return;
  const definitions = loadR4Definitions();
  compileStructureValidators(definitions.resourceTypes);
  walker = new ElementWalker(buildFieldTables(definitions));
  resourceTypes = definitions.resourceTypes;
  compileAllProfiles();
}

/** Profiles to check beyond those the resource claims in meta.profile (required by configuration, or asked for by $validate). */
export interface ValidationOptions {
  profiles?: readonly string[];
}

export function isKnownResourceType(type: string): boolean {
  initValidator();
  return resourceTypes!.has(type);
}

/** Same checks as validateResource but returns the issues instead of throwing (for $validate). Empty array = valid. */
export function validationIssues(value: unknown, options: ValidationOptions = {}): OperationOutcomeIssue[] {
  return check(value, options)?.issues ?? [];
}

/**
 * Validates a resource body for a write. Throws FhirError (400 for unparseable/structurally invalid input,
 * 422 for failed invariants, bindings or profiles) with one OperationOutcome issue per problem.
 * Profiles claimed in meta.profile are checked; an unknown one is a 422 naming it.
 */
export function validateResource(value: unknown, options: ValidationOptions = {}): Resource {
  const failure = check(value, options);
  if (failure) throw invalid(failure.status, failure.issues);
  return value as Resource;
}

interface Failure {
  status: 400 | 422;
  issues: OperationOutcomeIssue[];
}

function check(value: unknown, options: ValidationOptions): Failure | undefined {
  initValidator();
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { status: 400, issues: [issue('invalid', 'A resource must be a JSON object', '$this')] };
  }
  const resource = value as Record<string, unknown>;
  const type = resource.resourceType;
  if (typeof type !== 'string' || !resourceTypes!.has(type)) {
    const why = typeof type === 'string' ? `Unknown resource type '${type}': not an R4 resource` : 'A resource needs a string resourceType';
    return { status: 400, issues: [issue('invalid', why, 'resourceType')] };
  }
  const structure = structureIssues(resource, type);
  if (structure.length) return { status: 400, issues: structure };
  const walked = walker!.walk(resource);
  if (walked.format.length) return { status: 400, issues: walked.format };
  const invariants = invariantIssues(resource as unknown as Resource);
  if (invariants.length) return { status: 422, issues: invariants };
  if (walked.bindings.length) return { status: 422, issues: walked.bindings };
  const claimed = ((resource.meta as { profile?: unknown } | undefined)?.profile as string[] | undefined) ?? [];
  const profiles = [...new Set([...claimed, ...(options.profiles ?? [])])];
  const profileProblems = profiles.length ? issuesAgainstProfiles(resource as unknown as Resource, profiles) : [];
  if (profileProblems.length) return { status: 422, issues: profileProblems };
  return undefined;
}

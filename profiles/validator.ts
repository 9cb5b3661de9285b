import type { OperationOutcomeIssue, Resource } from '@medplum/fhirtypes';
import { invalid, issue } from '../server/errors';
import { buildFieldTables } from './element-index';
import { ElementWalker } from './element-walk';
import { invariantIssues } from './invariants';
import { configurePackages } from './conformance';
import { checkAgainstProfiles, compileAllProfiles, configureUnknownProfiles, ourProfile, type UnknownProfiles } from './profile-registry';
import { coreStructureKind, loadR4Definitions } from '../server/fhir/r4-definitions';
import { compileStructureValidators, structureIssues } from './structure';

// The base R4 write validator: https://hl7.org/fhir/R4/validation.html
// Stages run in order and the first that finds problems reports all of its own, and nothing after it.

let resourceTypes: ReadonlySet<string> | undefined;
let walker: ElementWalker | undefined;

/** Settings of the validator (FHIR_PACKAGES, UNKNOWN_PROFILES); call before initValidator. */
export interface ValidatorSettings {
  /** FHIR packages (folders or .tgz) to load beside UK Core and ours. */
  packages?: readonly string[];
  unknownProfiles?: UnknownProfiles;
}

export function configureValidator(settings: ValidatorSettings): void {
  configurePackages(settings.packages ?? []);
  configureUnknownProfiles(settings.unknownProfiles ?? 'warn');
  if (walker) compileAllProfiles();
}

/** Loads and indexes the R4 definitions and the packages once (call at start; idempotent). About 3 s. */
export function initValidator(): void {
  if (walker) return;
  const definitions = loadR4Definitions();
  compileStructureValidators(definitions.resourceTypes);
  const isDataType = (type: string): boolean => coreStructureKind(`http://hl7.org/fhir/StructureDefinition/${type}`) === 'complex-type';
  walker = new ElementWalker(buildFieldTables(definitions), (type) => definitions.resourceTypes.has(type), isDataType);
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

/** Same checks as validateResource but returns the problems instead of throwing. Empty array = valid. */
export function validationIssues(value: unknown, options: ValidationOptions = {}): OperationOutcomeIssue[] {
  return check(value, options).failure?.issues ?? [];
}

/** For $validate: the problems, or when there are none the warnings and information notes. */
export function validationReport(value: unknown, options: ValidationOptions = {}): OperationOutcomeIssue[] {
  const result = check(value, options);
  return result.failure?.issues ?? result.notes;
}

/** Warnings and information about the last valid resource validateResource returned (for Prefer: return=OperationOutcome). */
const notesOf = new WeakMap<object, OperationOutcomeIssue[]>();
export function validationNotes(resource: object): OperationOutcomeIssue[] {
  return notesOf.get(resource) ?? [];
}

/**
 * Validates a resource body for a write. Throws FhirError (400 for unparseable/structurally invalid input,
 * 422 for failed invariants, bindings or profiles) with one OperationOutcome issue per problem.
 * Profiles claimed in meta.profile are checked; an unknown one is a 422 naming it.
 */
export function validateResource(value: unknown, options: ValidationOptions = {}): Resource {
  const { failure, notes } = check(value, options);
  if (failure) throw invalid(failure.status, failure.issues);
  if (notes.length) notesOf.set(value as object, notes);
  return value as Resource;
}

interface Failure {
  status: 400 | 422;
  issues: OperationOutcomeIssue[];
}

interface Checked {
  failure?: Failure;
  notes: OperationOutcomeIssue[];
}

function check(value: unknown, options: ValidationOptions): Checked {
  let stage: ReturnType<typeof checkStages>;
  try {
    stage = checkStages(value, options);
  } catch (err) {
    // A resource nested deeper than the checks' recursion can follow (thousands of levels of
    // extensions or contained resources) is the sender's to flatten, not a server error.
    if (!(err instanceof RangeError)) throw err;
    stage = { status: 400, issues: [issue('too-costly', 'The resource is nested too deeply to check', '$this')] };
  }
  return stage && 'status' in stage ? { failure: stage, notes: [] } : { notes: stage?.notes ?? [] };
}

/**
 * Only the first stage: the value is a resource whose every element has the JSON type R4 gives it
 * (an object where an Identifier goes, a list where it repeats). For code that reads a resource
 * before it is validated whole, such as a message's own rules; throws FhirError 400 otherwise.
 */
export function checkShape(value: unknown): Resource {
  initValidator();
  const failure = shapeFailure(value);
  if (failure) throw invalid(failure.status, failure.issues);
  return value as Resource;
}

function shapeFailure(value: unknown): Failure | undefined {
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
  return structure.length ? { status: 400, issues: structure } : undefined;
}

function checkStages(value: unknown, options: ValidationOptions): Failure | { notes: OperationOutcomeIssue[] } | undefined {
  initValidator();
  const shape = shapeFailure(value);
  if (shape) return shape;
  const resource = value as Record<string, unknown>;
  const walked = walker!.walk(resource);
  if (walked.format.length) return { status: 400, issues: walked.format };
  const invariants = invariantIssues(resource as unknown as Resource);
  if (invariants.length) return { status: 422, issues: invariants };
  if (walked.bindings.length) return { status: 422, issues: walked.bindings };
  const claimed = ((resource.meta as { profile?: unknown } | undefined)?.profile as string[] | undefined) ?? [];
  const profiles = [...new Set([...claimed, ...(options.profiles ?? [])])];
  // An extension out of its context breaks the package profiles a resource claims; without such a
  // claim (PDS returns records like that) it is a warning.
  const contexts = walked.contexts.map((i) => ({ ...i, severity: 'warning' as const }));
  if (!profiles.length) return { notes: contexts };
  const report = checkAgainstProfiles(resource as unknown as Resource, profiles);
  const issues = [...report.issues, ...(profiles.some((url) => ourProfile(url)) ? walked.contexts : [])];
  return issues.length ? { status: 422, issues } : { notes: [...contexts, ...report.notes] };
}

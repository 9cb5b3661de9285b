import type { OperationOutcomeIssue, Resource } from '@medplum/fhirtypes';
import { issue } from '../server/errors';
import { canonicalUrl, conformance, takeSnapshots } from './conformance';
import { profileIssues } from './profile-check';
import { compileProfile, type CompiledProfile } from './profile-rules';
import { loadR4Definitions } from '../server/fhir/r4-definitions';

// Which profiles a resource may claim in meta.profile, and checking it against them.
// https://hl7.org/fhir/R4/resource.html#profile-tags

const CORE_PREFIX = 'http://hl7.org/fhir/StructureDefinition/';

/**
 * Profiles other parts of this server own and check themselves, accepted in meta.profile without
 * rules here: the Subscriptions R5 Backport IG's Subscription profile (subscriptions/ validates it).
 */
const OWNED_ELSEWHERE = new Set(['http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-subscription']);

let compiled = new Map<string, CompiledProfile>();
let compiledFrom: object | undefined;

/** The resource type a profile constrains: a core R4 type or one of ours. */
export function typeOfProfile(url: string): string | undefined {
  const canonical = canonicalUrl(url);
  if (canonical.startsWith(CORE_PREFIX)) {
    const type = canonical.slice(CORE_PREFIX.length);
    return loadR4Definitions().resourceTypes.has(type) ? type : undefined;
  }
  return conformance().structureDefinitions.get(canonical)?.type;
}

/** Our compiled profile for a canonical URL, or undefined when we do not hold it. */
export function ourProfile(url: string): CompiledProfile | undefined {
  return compiledProfiles().get(canonicalUrl(url));
}

/** Compiles every profile we hold (at start, so the first write does not pay for it and a broken profile fails fast). */
export function compileAllProfiles(): void {
  compiledProfiles();
}

/** Every profile we hold, compiled at once from the snapshots, which are let go after. */
function compiledProfiles(): ReadonlyMap<string, CompiledProfile> {
  const held = conformance();
  if (compiledFrom !== held) {
    const profiles = new Map<string, CompiledProfile>();
    for (const [url, sd] of takeSnapshots(held)) profiles.set(url, compileProfile(sd, typeOfProfile));
    compiled = profiles;
    compiledFrom = held;
  }
  return compiled;
}

export function isKnownProfile(url: string): boolean {
  return !!ourProfile(url) || !!typeOfProfile(url) || OWNED_ELSEWHERE.has(canonicalUrl(url));
}

/** What to do with a claim to a profile the server does not hold (UNKNOWN_PROFILES). */
export type UnknownProfiles = 'warn' | 'reject';
let unknownProfiles: UnknownProfiles = 'warn';

export function configureUnknownProfiles(handling: UnknownProfiles): void {
  unknownProfiles = handling;
}

/** The profile and the held profiles it derives from, nearest first: a NeighbourhoodPatient is a UKCore-Patient too. */
function lineage(url: string): CompiledProfile[] {
  const chain: CompiledProfile[] = [];
  for (let at: string | undefined = url; at; ) {
    const profile = ourProfile(at);
    if (!profile) break;
    chain.push(profile);
    at = conformance().structureDefinitions.get(canonicalUrl(at))?.baseDefinition;
  }
  return chain;
}

export interface ProfileReport {
  /** Problems that refuse the resource. */
  issues: OperationOutcomeIssue[];
  /** Warnings and information that do not: unknown profiles (unless rejected), bindings not checked. */
  notes: OperationOutcomeIssue[];
}

/** The resource against each profile and those they derive from; a profile for another type is a problem. */
export function checkAgainstProfiles(resource: Resource, urls: readonly string[]): ProfileReport {
  const report: ProfileReport = { issues: [], notes: [] };
  const checked = new Set<string>();
  const at = `${resource.resourceType}.meta.profile`;
  for (const url of urls) {
    if (!isKnownProfile(url)) {
      // As the HL7 validator does: a profile it cannot find is a warning, unless the hub is told to refuse.
      const rejected = unknownProfiles === 'reject';
      const text = `${at}: the profile ${url} is not known to this server, so the resource ${rejected ? 'cannot be' : 'was not'} checked against it`;
      (rejected ? report.issues : report.notes).push(issue('not-supported', text, at, rejected ? 'error' : 'warning'));
      continue;
    }
    const type = typeOfProfile(url);
    if (type && type !== resource.resourceType) {
      report.issues.push(issue('invalid', `${at}: the profile ${url} is for ${type}, not ${resource.resourceType}`, at));
      continue;
    }
    for (const profile of lineage(url)) {
      if (checked.has(profile.url)) continue;
      checked.add(profile.url);
      const found = profileIssues(resource, profile, ourProfile);
      report.issues.push(...found.issues);
      report.notes.push(...found.notes);
    }
  }
  // A rule a profile repeats from the profile it derives from is reported once.
  const once = (issues: OperationOutcomeIssue[]): OperationOutcomeIssue[] => [...new Map(issues.map((i) => [`${i.diagnostics}`, i])).values()];
  return { issues: once(report.issues), notes: once(report.notes) };
}

/** Only the problems that refuse the resource (required profiles on writes). */
export function issuesAgainstProfiles(resource: Resource, urls: readonly string[]): OperationOutcomeIssue[] {
  return checkAgainstProfiles(resource, urls).issues;
}

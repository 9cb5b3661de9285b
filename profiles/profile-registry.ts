import type { OperationOutcomeIssue, Resource } from '@medplum/fhirtypes';
import { issue } from '../server/errors';
import { canonicalUrl, conformance } from './conformance';
import { profileIssues } from './profile-check';
import { compileProfile, type CompiledProfile } from './profile-rules';
import { loadR4Definitions } from './r4-definitions';

// Which profiles a resource may claim in meta.profile, and checking it against them.
// https://hl7.org/fhir/R4/resource.html#profile-tags

const CORE_PREFIX = 'http://hl7.org/fhir/StructureDefinition/';

/**
 * Profiles other parts of this server own and check themselves, accepted in meta.profile without
 * rules here: the Subscriptions R5 Backport IG's Subscription profile (subscriptions/ validates it).
 */
const OWNED_ELSEWHERE = new Set(['http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-subscription']);

const compiled = new Map<string, CompiledProfile>();

/** The resource type a profile constrains: a core R4 type or one of ours. */
export function typeOfProfile(url: string): string | undefined {
  const canonical = canonicalUrl(url);
  if (canonical.startsWith(CORE_PREFIX)) {
    const type = canonical.slice(CORE_PREFIX.length);
    return loadR4Definitions().resourceTypes.has(type) ? type : undefined;
  }
  return conformance().structureDefinitions.get(canonical)?.type;
}

/** Our compiled profile for a canonical URL (compiled once), or undefined when we do not hold it. */
export function ourProfile(url: string): CompiledProfile | undefined {
  const canonical = canonicalUrl(url);
  let profile = compiled.get(canonical);
  if (!profile) {
    const sd = conformance().structureDefinitions.get(canonical);
    if (!sd) return undefined;
    profile = compileProfile(sd, typeOfProfile);
    compiled.set(canonical, profile);
  }
  return profile;
}

/** Compiles every profile we hold (at start, so the first write does not pay for it and a broken profile fails fast). */
export function compileAllProfiles(): void {
  for (const url of conformance().structureDefinitions.keys()) ourProfile(url);
}

export function isKnownProfile(url: string): boolean {
  return !!ourProfile(url) || !!typeOfProfile(url) || OWNED_ELSEWHERE.has(canonicalUrl(url));
}

/** Every problem of the resource against each profile; an unknown profile or one for another type is itself a problem. */
export function issuesAgainstProfiles(resource: Resource, urls: readonly string[]): OperationOutcomeIssue[] {
  const issues: OperationOutcomeIssue[] = [];
  for (const url of urls) {
    const at = `${resource.resourceType}.meta.profile`;
    if (!isKnownProfile(url)) {
      issues.push(issue('not-supported', `${at}: the profile ${url} is not known to this server, so the resource cannot be checked against it`, at));
      continue;
    }
    const type = typeOfProfile(url);
    if (type && type !== resource.resourceType) {
      issues.push(issue('invalid', `${at}: the profile ${url} is for ${type}, not ${resource.resourceType}`, at));
      continue;
    }
    const profile = ourProfile(url);
    if (profile) issues.push(...profileIssues(resource, profile, ourProfile));
  }
  return issues;
}

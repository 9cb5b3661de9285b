import type { Resource } from '@medplum/fhirtypes';
import { badRequest, FhirError, preconditionFailed } from '../../errors.js';
import type { FhirContext } from '../request.js';
import { entryPath } from './entry.js';
import { key, type PlannedEntry } from './plan.js';
import { conditionalReference, isBundleLocal } from '../../fhir/reference.js';
import { referenceSites, type ReferenceSite } from '../../fhir/reference-sites.js';

export interface LinkOptions {
  /**
   * A `urn:uuid:` no entry carries stays as written, a reference to something outside the Bundle:
   * a message may point at what it does not carry (EPS Provenance targets). A transaction may not.
   */
  keepUnknownLocal?: boolean;
}

/**
 * Rewrites the references of every resource the transaction writes, before any is written:
 * fullUrls of entries (urn:uuid:, urn:oid:, or absolute) become `Type/id` of what the entry
 * writes, and conditional references `Type?criteria` become the one resource they match
 * (https://hl7.org/fhir/R4/http.html#trules, bundle.html#references).
 */
export async function rewriteLinks(entries: PlannedEntry[], ctx: FhirContext, options: LinkOptions = {}): Promise<void> {
  const byFullUrl = new Map<string, string>();
  for (const e of entries) {
    if (e.fullUrl && e.target && (e.phase === 'POST' || e.phase === 'PUT')) byFullUrl.set(e.fullUrl, key(e.target));
  }
  const resolver = new ConditionalResolver(entries, ctx);
  for (const e of entries) {
    if ((e.phase !== 'POST' && e.phase !== 'PUT') || e.request.body === undefined) continue;
    for (const site of referenceSites(e.request.body, `${entryPath(e.index)}.resource`)) {
      const ref = site.value;
      const local = byFullUrl.get(ref);
      if (local) site.holder.reference = local;
      else if (isBundleLocal(ref)) {
        if (options.keepUnknownLocal) continue;
        throw badRequest(`${site.path()} refers to ${ref}, which is not the fullUrl of any resource this transaction creates or updates`, site.path());
      } else {
        const cond = conditionalReference(ref);
        if (cond && ![...cond.criteria.keys()].length) throw badRequest(`${site.path()}: the conditional reference ${ref} has no search criteria`, site.path());
        if (cond) site.holder.reference = await resolver.resolve(ref, cond.type, cond.criteria, site);
      }
    }
  }
}

/**
 * A conditional reference matches resources already stored (less those this transaction deletes)
 * and resources this transaction creates or updates, so a bundle may create a Patient and refer to
 * it by NHS number. Exactly one match, else the transaction fails with 412.
 */
class ConditionalResolver {
  private readonly cache = new Map<string, string>();
  private readonly deleted: Set<string>;

  constructor(
    private readonly entries: PlannedEntry[],
    private readonly ctx: FhirContext,
  ) {
    this.deleted = new Set(entries.filter((e) => e.phase === 'DELETE' && e.target).map((e) => key(e.target!)));
  }

  async resolve(ref: string, type: string, criteria: URLSearchParams, site: ReferenceSite): Promise<string> {
    const cached = this.cache.get(ref);
    if (cached) return cached;
    const ids = new Set<string>();
    try {
      const limit = 2 + this.deleted.size;
      for (const id of await this.ctx.search.matchIds(this.ctx.store.sql, type, criteria, limit)) {
        if (!this.deleted.has(`${type}/${id}`)) ids.add(id);
      }
    } catch (err) {
      if (!(err instanceof FhirError)) throw err;
      throw badRequest(`${site.path()}: the conditional reference ${ref} is not a valid search: ${err.message}`, site.path());
    }
    for (const e of this.entries) {
      const body = e.request.body as Resource | undefined;
      if ((e.phase === 'POST' || e.phase === 'PUT') && e.target?.type === type && body?.resourceType === type && this.matchesInMemory(body, criteria)) {
        ids.add(e.target.id);
      }
    }
    if (ids.size !== 1) {
      throw preconditionFailed(`${site.path()}: the conditional reference ${ref} matches ${ids.size ? 'more than one resource' : 'no resource'}; it must match exactly one`, site.path());
    }
    const resolved = `${type}/${[...ids][0]}`;
    this.cache.set(ref, resolved);
    return resolved;
  }

  /** Criteria the in-memory matcher cannot evaluate (chains, _has) can only match stored resources. */
  private matchesInMemory(resource: Resource, criteria: URLSearchParams): boolean {
    try {
      return this.ctx.search.matches(resource, criteria);
    } catch {
      return false;
    }
  }
}

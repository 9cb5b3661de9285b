import { randomUUID } from 'node:crypto';
import type { OperationOutcomeIssue, Resource } from '@medplum/fhirtypes';
import { invalid } from '../server/errors';
import { DelegatingStore } from '../server/store/delegating-store';
import type { ResourceVersion, Store, WriteResult, Writer } from '../server/store/store';
import { canonicalUrl } from './conformance';
import { isKnownProfile, issuesAgainstProfiles } from './profile-registry';
import { businessRuleIssues, type ReadResource } from './write-rules';

// The write-time checks that need more than the resource itself: profiles required by configuration
// for a resource type, business rules that read other resources, and write rules that take part in
// a change (the slots a booking takes, a referral's state machine) and carry out its consequences.
// They sit on the store seam, so every write path (create, update, patch, conditional forms,
// transaction entries, messages) passes them without each handler having to remember to call them.

/** Resource type → canonical URLs every resource of that type must conform to (REQUIRED_PROFILES). */
export type RequiredProfiles = Readonly<Record<string, readonly string[]>>;

/** A change to one resource, judged inside its transaction once written. */
export interface WriteChange<T extends Resource = Resource> {
  /** The version this write replaced; absent for a create (or a re-create after a delete). */
  previous?: T;
  current: T & { id: string };
  /** The client that wrote it; absent for the hub's own writes (and when authentication is off). */
  writer?: Writer;
}

/**
 * A rule on writes of some types, run inside the write's transaction; throwing a FhirError refuses
 * the write and rolls everything back.
 * - `beforeWrite` sees the resource as it will be written (undefined for a delete) and may make
 *   writes that must commit with it (the slots a booking takes), on the store below this guard: its
 *   own writes are not hooked again. `creating`: a create, whose id no resource has (a taken one
 *   fails the transaction), so there is nothing of it to lock or read back. `writer`: as in
 *   WriteChange.
 * - `afterWrite` runs once the row is written and locked (two racing writes are judged one after
 *   the other), with the previous version and the writer; `hub` writes as the hub itself (no writer,
 *   no access policy), for consequences such as a Communication back to the referrer.
 */
export interface WriteRule {
  types: readonly string[];
  beforeWrite?(tx: Store, resourceType: string, id: string, next: Resource | undefined, creating: boolean, writer: Writer | undefined): Promise<void>;
  afterWrite?(change: WriteChange, hub: Store): Promise<void>;
}

/**
 * The store with each create/update first passing required profiles and business rules (422
 * otherwise), then the write rules of its type.
 */
export class WriteGuardStore extends DelegatingStore {
  /** The guard over a store; a required profile this server does not hold stops the start. */
  static guarding(store: Store, required: RequiredProfiles, rules: readonly WriteRule[] = []): WriteGuardStore {
    for (const [type, urls] of Object.entries(required)) {
      for (const url of urls) if (!isKnownProfile(url)) throw new Error(`REQUIRED_PROFILES: ${type}=${url} is not a profile this server holds`);
    }
    return new WriteGuardStore(store, required, rules, false);
  }

  private constructor(
    inner: Store,
    readonly required: RequiredProfiles,
    private readonly rules: readonly WriteRule[],
    /** The hub's own writes (a rule's consequences): never attributed to the client whose write caused them. */
    private readonly hub: boolean,
    /** The client these writes are made for (writingFor); undefined for the hub's own. */
    private readonly writer?: Writer,
  ) {
    super(inner);
  }

  override writingFor(writer: Writer | undefined): Store {
    return new WriteGuardStore(this.inner.writingFor(writer), this.required, this.rules, this.hub, writer);
  }

  /** The checks a write through this guard runs before the rules, wherever the guard sits in the stack. */
  override writeIssues(resource: Resource): Promise<OperationOutcomeIssue[]> {
    return writeRuleIssues(this, resource);
  }

  override create(resource: Resource, id?: string): Promise<WriteResult> {
    // Rules before the write need the id; the store would draw the same kind of id.
    const newId = id ?? (this.rulesFor(resource.resourceType).some((r) => r.beforeWrite) ? randomUUID() : undefined);
    return this.write(resource, newId ?? '', true, (s, r) => s.create(r, newId));
  }

  override update(resource: Resource & { id: string }, ifMatch?: number): Promise<WriteResult> {
    return this.write(resource, resource.id, false, (s, r) => s.update(r as Resource & { id: string }, ifMatch));
  }

  override delete(resourceType: string, id: string, ifMatch?: number): Promise<ResourceVersion | undefined> {
    const rules = this.rulesFor(resourceType).filter((r) => r.beforeWrite);
    if (!rules.length) return this.inner.delete(resourceType, id, ifMatch);
    return this.inner.transaction(async (tx) => {
      for (const rule of rules) await rule.beforeWrite!(tx, resourceType, id, undefined, false, this.attributed);
      return tx.delete(resourceType, id, ifMatch);
    });
  }

  protected over(inner: Store, hub = this.hub): WriteGuardStore {
    return new WriteGuardStore(inner, this.required, this.rules, hub, this.writer);
  }

  /** Who the rules see writing: the client, unless this is the hub writing a rule's consequences. */
  private get attributed(): Writer | undefined {
    return this.hub ? undefined : this.writer;
  }

  private rulesFor(type: string): WriteRule[] {
    return this.rules.filter((r) => r.types.includes(type));
  }

  private async write(resource: Resource, id: string, creating: boolean, put: (store: Store, resource: Resource) => Promise<WriteResult>): Promise<WriteResult> {
    const rules = this.rulesFor(resource.resourceType);
    if (!rules.length) return put(this.inner, await checked(this, resource));
    return this.inner.transaction(async (tx) => {
      const valid = await checked(this.over(tx), resource);
      for (const rule of rules) await rule.beforeWrite?.(tx, resource.resourceType, id, valid, creating, this.attributed);
      const written = await put(tx, valid);
      const after = rules.filter((r) => r.afterWrite);
      if (!after.length) return written;
      const previous = written.versionId > 1 ? await tx.vread(written.resourceType, written.id, written.versionId - 1) : undefined;
      const change: WriteChange = {
        previous: previous?.content ? (JSON.parse(previous.content) as Resource) : undefined,
        current: written.resource as Resource & { id: string },
        writer: this.attributed,
      };
      const hub = this.over(tx, true);
      for (const rule of after) await rule.afterWrite!(change, hub);
      return written;
    });
  }
}

async function checked<T extends Resource>(guard: WriteGuardStore, resource: T): Promise<T> {
  const issues = await writeRuleIssues(guard, resource);
  if (issues.length) throw invalid(422, issues);
  return resource;
}

/**
 * What a write of this resource through the guard would fail on, beyond validateResource:
 * profiles configuration requires and the resource does not already claim, then business rules.
 */
async function writeRuleIssues(guard: WriteGuardStore, resource: Resource): Promise<OperationOutcomeIssue[]> {
  const claimed = (resource.meta?.profile ?? []).map(canonicalUrl);
  const required = (guard.required[resource.resourceType] ?? []).filter((url) => !claimed.includes(canonicalUrl(url)));
  const profileProblems = required.length ? issuesAgainstProfiles(resource, required) : [];
  if (profileProblems.length) return profileProblems;
  return businessRuleIssues(resource, [...claimed, ...required], readerOf(guard));
}

/** Reads the current version, treating a deleted resource as absent. */
function readerOf(store: Store): ReadResource {
  return async (type, id) => {
    const version = await store.read(type, id);
    return version && !version.deleted && version.content ? (JSON.parse(version.content) as Resource) : undefined;
  };
}

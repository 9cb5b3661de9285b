import { isDeepStrictEqual } from 'node:util';
import type { Resource } from '@medplum/fhirtypes';
import { FhirError, NamingError, issue, outcome } from '../errors.js';
import { SqlWriter } from '../search/sql-writer.js';
import type { Queryable } from '../store/db.js';
import type { SearchEngine } from '../search/search.js';
import { DelegatingStore } from '../store/delegating-store.js';
import type { HistoryPage, HistoryQuery, ResourceIndexer, ResourceVersion, Store, WriteResult } from '../store/store.js';
import { AUDIT_EVENT } from './access-sql.js';
import { judgeLastLiveVersion, type InTransaction } from './last-live.js';
import type { RequestAccess } from './request-access.js';
import { owned } from './subscription-owner.js';
import type { Permission } from './scopes.js';

/**
 * The store as one client sees it. Reads of resources outside its policy look absent (404: existence
 * is not revealed); a write must be allowed on the resource as it was and as it will be, checked
 * inside the write's transaction after the index rows are written, so a refused write leaves nothing.
 */
export class AccessStore extends DelegatingStore {
  constructor(
    inner: Store,
    private readonly access: RequestAccess,
    private readonly indexer: AccessIndexer,
    /**
     * Inside a transaction the checks on written resources wait for its end: an entry may be allowed
     * only through one written later (a staff role naming the practice the same message creates).
     */
    private readonly deferred?: AfterWriteChecks,
  ) {
    super(inner);
  }

  override async read(type: string, id: string): Promise<ResourceVersion | undefined> {
    return visibleVersion(this.inner, this.indexer, this.access, await this.inner.read(type, id));
  }

  override async vread(type: string, id: string, vid: number): Promise<ResourceVersion | undefined> {
    return visibleVersion(this.inner, this.indexer, this.access, await this.inner.vread(type, id, vid));
  }

  override readMany(refs: Array<{ resourceType: string; id: string }>): Promise<ResourceVersion[]> {
    return readableMany(this.inner, this.access, refs);
  }

  override create(resource: Resource, id?: string): Promise<WriteResult> {
    return this.inner.transaction(async (tx) => {
      this.access.require(resource.resourceType, 'c');
      await this.beforeWrite(tx, { ...resource, ...(id ? { id } : {}) });
      const written = await tx.create(owned(resource, this.access.principal), id).catch(async (err: unknown) => Promise.reject(await namedIfReadable(tx.sql, this.access, err)));
      await this.afterWrite(tx.sql, written, 'c', 'create');
      return written;
    });
  }

  override update(resource: Resource & { id: string }, ifMatch?: number): Promise<WriteResult> {
    return this.inner.transaction(async (tx) => {
      const before = await tx.readForUpdate(resource.resourceType, resource.id);
      const exists = !!before && !before.deleted;
      this.access.require(resource.resourceType, exists ? 'u' : 'c');
      if (exists) await check(tx.sql, this.access, before, 'u', 'update');
      await this.beforeWrite(tx, resource, exists ? before : undefined);
      const written = await tx.update(owned(resource, this.access.principal, exists ? before : undefined), ifMatch).catch(async (err: unknown) => Promise.reject(await namedIfReadable(tx.sql, this.access, err)));
      await this.afterWrite(tx.sql, written, written.created ? 'c' : 'u', written.created ? 'create' : 'update');
      return written;
    });
  }

  override delete(type: string, id: string, ifMatch?: number): Promise<ResourceVersion | undefined> {
    return this.inner.transaction(async (tx) => {
      this.access.require(type, 'd');
      const before = await tx.readForUpdate(type, id);
      if (before && !before.deleted) await check(tx.sql, this.access, before, 'd', 'delete');
      return tx.delete(type, id, ifMatch).catch(async (err: unknown) => Promise.reject(await namedIfReadable(tx.sql, this.access, err)));
    });
  }

  override async history(query: HistoryQuery): Promise<HistoryPage> {
    // An AuditEvent is its one version, never deleted: judged on its row, as type history judges them.
    if (!query.resourceType || !query.id || query.resourceType === AUDIT_EVENT) return this.inner.history(withVisibility(query, this.access));
    // One resource: all of its versions if the client may read it (or could, before it was deleted).
    this.access.require(query.resourceType, 'r');
    return (await readable(this.inner, this.indexer, this.access, { resourceType: query.resourceType, id: query.id })) ? this.inner.history(query) : { versions: [], total: 0 };
  }

  /** The outermost transaction runs the deferred checks on written resources, before it commits. */
  override transaction<T>(fn: (store: Store) => Promise<T>): Promise<T> {
    if (this.deferred) return super.transaction(fn);
    return this.inner.transaction(async (tx) => {
      const checks: AfterWriteChecks = [];
      const result = await fn(new AccessStore(tx, this.access, this.indexer, checks));
      for (const run of checks) await run();
      return result;
    });
  }

  protected over(inner: Store): Store {
    return new AccessStore(inner, this.access, this.indexer, this.deferred);
  }

  /** Judged before the write, on the data as the client found it: a write may not open its own way in. */
  private async beforeWrite(tx: Store, resource: Resource & { id?: string }, before?: ResourceVersion): Promise<void> {
    if (before?.content) refuseChangedElements(this.access, JSON.parse(before.content) as Resource, resource);
    for (const later of await refuseWidening(tx, this.indexer, this.access, resource)) await this.atEnd(later);
  }

  private afterWrite(sql: Queryable, version: ResourceVersion, permission: Permission, verb: string): Promise<void> {
    return this.atEnd(() => checkWritten(sql, this.access, version, permission, verb));
  }

  private async atEnd(run: () => Promise<void>): Promise<void> {
    if (this.deferred) this.deferred.push(run);
    else await run();
  }
}

/**
 * A refusal naming another resource (the appointment holding a slot) names it only to a client that
 * may read it; others get the account without it. Judged inside the write's transaction, which the
 * refusal (thrown by a write rule, not by the database) has not broken.
 */
async function namedIfReadable(sql: Queryable, access: RequestAccess, err: unknown): Promise<unknown> {
  if (!(err instanceof NamingError)) return err;
  const mayRead = await allowed(sql, access.exact(), err.named, 'r').catch(() => false);
  return mayRead ? err : err.withheld();
}

/** A version of a resource the client may not read is reported as not there at all. */
async function visibleVersion(store: Store, indexer: ResourceIndexer, access: RequestAccess, version: ResourceVersion | undefined): Promise<ResourceVersion | undefined> {
  if (!version) return undefined;
  const visible = version.resourceType === AUDIT_EVENT ? await auditRowReadable(store.sql, access, version) : await readable(store, indexer, access, version);
  return visible ? version : undefined;
}

/** The audit row of an AuditEvent read, judged as search judges it; its time (lastUpdated) finds its partition. */
async function auditRowReadable(sql: Queryable, access: RequestAccess, version: ResourceVersion): Promise<boolean> {
  const w = new SqlWriter('', new Map());
  const condition = access.condition(w, 'a', AUDIT_EVENT, 'r');
  if (condition === 'true' || condition === 'false') return condition === 'true';
  const rows = await sql.query(`SELECT 1 FROM audit_event a WHERE a.recorded = ${w.p(version.lastUpdated)} AND a.id = ${w.p(version.id)}::uuid AND ${condition}`, w.values);
  return rows.length > 0;
}

/**
 * The client may read the resource now, or, when it is deleted, could read its last live version:
 * so the clients that saw a resource learn of its deletion (410, history) and nobody else does.
 */
export async function readable(store: Store, indexer: ResourceIndexer, access: RequestAccess, ref: Pick<ResourceVersion, 'resourceType' | 'id'>): Promise<boolean> {
  const verdict = await judge(store.sql, access, ref, 'r');
  if (verdict !== 'deleted') return verdict === 'allowed';
  const inTransaction: InTransaction = (fn) => store.transaction((tx) => fn(tx.sql));
  // Wholly in SQL: sets resolved earlier were resolved without the restored version.
  return (await judgeLastLiveVersion(inTransaction, indexer, ref, (tx) => allowed(tx, access.exact(), ref, 'r'))) ?? false;
}

/** Checks on written resources a transaction runs at its end, before it commits. */
type AfterWriteChecks = Array<() => Promise<void>>;

async function check(sql: Queryable, access: RequestAccess, version: ResourceVersion, permission: Permission, verb: string): Promise<void> {
  if (!(await allowed(sql, access.exact(), version, permission))) throw refused(access, version, verb);
}

/** A written resource as the write (or its transaction) leaves it: inside the policy, or deleted by a later entry that was checked itself. */
async function checkWritten(sql: Queryable, access: RequestAccess, version: ResourceVersion, permission: Permission, verb: string): Promise<void> {
  if ((await judge(sql, access.exact(), version, permission)) === 'refused') throw refused(access, version, verb);
}

/** A write outside the policy (403), naming the resource so that a transaction can point at the entry that wrote it. */
export class PolicyRefusal extends FhirError {
  constructor(readonly reference: string, diagnostics: string, expression?: string) {
    super(403, outcome(issue('forbidden', diagnostics, expression)));
  }
}

/** The search engine as the access store uses it: indexing (for deleted resources) and reference extraction. */
export type AccessIndexer = ResourceIndexer & Pick<SearchEngine, 'referenceTargets'>;

/** An update under a rule that names the elements it may change (a pharmacy's dispensing) changes no other. */
function refuseChangedElements(access: RequestAccess, before: Resource, after: Resource): void {
  const changeable = access.changeable(after.resourceType);
  if (!changeable) return;
  const b = before as unknown as Record<string, unknown>;
  const a = after as unknown as Record<string, unknown>;
  const changed = [...new Set([...Object.keys(b), ...Object.keys(a)])].find((k) => !changeable.has(k) && !isDeepStrictEqual(b[k], a[k]));
  if (!changed) return;
  const allowed = [...changeable].filter((e) => !['resourceType', 'id', 'meta', 'text'].includes(e)).join(', ');
  throw new PolicyRefusal(
    `${after.resourceType}/${after.id}`,
    `${access.principal.kind} client ${access.principal.clientId} (${access.principal.org}) may not change ${after.resourceType}.${changed}: it may change only ${allowed}`,
    `${after.resourceType}.${changed}`,
  );
}

/**
 * The rule behind every policy: a write may only point the references that open a way in (a care
 * team's patient, a prescription's subject: see wideningParams) at what the client could already
 * read. A target not held yet must exist when the write's transaction ends (created in it), or the
 * write would reserve access to a resource someone else creates later; the checks for those are
 * returned to run then. Absent and hidden targets are refused alike, so existence is not revealed.
 */
async function refuseWidening(tx: Store, indexer: AccessIndexer, access: RequestAccess, resource: Resource & { id?: string }): Promise<Array<() => Promise<void>>> {
  const later: Array<() => Promise<void>> = [];
  const exact = access.exact();
  for (const target of indexer.referenceTargets(resource, access.widening(resource.resourceType))) {
    const verdict = await judge(tx.sql, exact, target, 'r');
    if (verdict === 'allowed') continue;
    if (verdict === 'absent') {
      later.push(async () => {
        if ((await judge(tx.sql, exact, target, 'r')) === 'absent') throw widened(access, resource, target);
      });
    } else if (verdict === 'refused' || !(await readable(tx, indexer, exact, target))) throw widened(access, resource, target);
  }
  return later;
}

function widened(access: RequestAccess, resource: Resource & { id?: string }, target: { resourceType: string; id: string }): PolicyRefusal {
  const reference = `${target.resourceType}/${target.id}`;
  const element = referringElement(resource, reference) ?? resource.resourceType;
  return new PolicyRefusal(
    `${resource.resourceType}/${resource.id ?? ''}`,
    `${access.principal.kind} client ${access.principal.clientId} (${access.principal.org}) may not refer to ${reference} from ${element}: it could not read ${reference} before this write, and a write may not widen its writer's own access`,
    element,
  );
}

/** The FHIRPath of the element holding a reference (CareTeam.subject, CareTeam.participant[1].member). */
function referringElement(resource: Resource, reference: string): string | undefined {
  const walk = (value: unknown, path: string): string | undefined => {
    if (Array.isArray(value)) {
      for (let i = 0; i < value.length; i++) {
        const found = walk(value[i], `${path}[${i}]`);
        if (found) return found;
      }
      return undefined;
    }
    if (!value || typeof value !== 'object') return undefined;
    const record = value as Record<string, unknown>;
    if (typeof record.reference === 'string' && (record.reference === reference || record.reference.endsWith(`/${reference}`))) return path;
    for (const [key, child] of Object.entries(record)) {
      const found = walk(child, `${path}.${key}`);
      if (found) return found;
    }
    return undefined;
  };
  return walk(resource, resource.resourceType);
}

/**
 * The policy checked on resources named by id: a few rows whatever the values, probed by index
 * (AccessSql.condition's fewRows), so one plan serves them all, made once per connection. A GP
 * practice's policy took PostgreSQL 20-30 ms to plan for every write it checked.
 */
const ONE_PLAN = { prepared: true };

/** Of these resources, the current versions the client may read: what operations assemble is what a read would give. */
async function readableMany(store: Store, access: RequestAccess, refs: Array<{ resourceType: string; id: string }>): Promise<ResourceVersion[]> {
  const all = await store.readMany(refs);
  const byType = new Map<string, ResourceVersion[]>();
  for (const v of all) byType.set(v.resourceType, [...(byType.get(v.resourceType) ?? []), v]);
  const visible: ResourceVersion[] = [];
  for (const [type, versions] of byType) {
    const w = new SqlWriter('', new Map());
    const condition = access.condition(w, 'r', type, 'r', true);
    if (condition === 'true') visible.push(...versions);
    if (condition === 'true' || condition === 'false') continue;
    const ids = new Set(
      (await store.sql.query<{ id: string }>(`SELECT r.id FROM resources r WHERE r.resource_type = ${w.p(type)} AND r.id = ANY(${w.p(versions.map((v) => v.id))}::text[]) AND NOT r.deleted AND ${condition}`, w.values, ONE_PLAN)).map((r) => r.id),
    );
    visible.push(...versions.filter((v) => ids.has(v.id)));
  }
  return visible;
}

function refused(access: RequestAccess, version: Pick<ResourceVersion, 'resourceType' | 'id'>, verb: string): PolicyRefusal {
  const reference = `${version.resourceType}/${version.id}`;
  return new PolicyRefusal(reference, `${access.principal.kind} client ${access.principal.clientId} (${access.principal.org}) may not ${verb} ${reference}: it is outside the organisation's access policy`);
}

/** Evaluated on the current row and its index rows: the same SQL search uses, so reads and searches agree. */
export async function allowed(sql: Queryable, access: RequestAccess, version: Pick<ResourceVersion, 'resourceType' | 'id'>, permission: Permission): Promise<boolean> {
  return (await judge(sql, access, version, permission)) === 'allowed';
}

/** As `allowed`, telling a deleted resource (which has no index rows to judge), and one not held at all, from a refused one. */
async function judge(sql: Queryable, access: RequestAccess, version: Pick<ResourceVersion, 'resourceType' | 'id'>, permission: Permission): Promise<'allowed' | 'refused' | 'deleted' | 'absent'> {
  const w = new SqlWriter('', new Map());
  const condition = access.condition(w, 'r', version.resourceType, permission, true);
  if (condition === 'true') return 'allowed';
  if (condition === 'false') return 'refused';
  const type = w.p(version.resourceType);
  const id = w.p(version.id);
  // Two branches rather than one row with both answers: the condition stays in a WHERE clause, where
  // PostgreSQL turns its subqueries into index probes instead of hashing their whole result.
  const rows = await sql.query<{ verdict: 'allowed' | 'deleted' | 'absent' }>(
    `SELECT 'allowed' AS verdict FROM resources r WHERE r.resource_type = ${type} AND r.id = ${id} AND NOT r.deleted AND ${condition}
     UNION ALL SELECT 'deleted' FROM resources r WHERE r.resource_type = ${type} AND r.id = ${id} AND r.deleted
     UNION ALL SELECT 'absent' WHERE NOT EXISTS (SELECT 1 FROM resources r WHERE r.resource_type = ${type} AND r.id = ${id})`,
    w.values,
    ONE_PLAN,
  );
  return rows[0]?.verdict ?? 'refused';
}

/** History lists only versions of resources the client may read now; unrestricted clients see deletions too. */
function withVisibility(query: HistoryQuery, access: RequestAccess): HistoryQuery {
  const permission: Permission = query.id ? 'r' : 's';
  if (query.resourceType) access.require(query.resourceType, permission);
  const probe = new SqlWriter('', new Map());
  const sql = (w: SqlWriter, r: string): string => (query.resourceType ? access.condition(w, r, query.resourceType, permission) : access.anyType(w, r, permission));
  if (sql(probe, 'r') === 'true') return query;
  return { ...query, visible: (bind, r) => sql(new BoundWriter(bind), r) };
}

/** A writer whose parameters go to another query's list (history builds its own SQL). */
class BoundWriter extends SqlWriter {
  constructor(private readonly bind: (value: unknown) => string) {
    super('', new Map());
  }

  override p(value: unknown): string {
    return this.bind(value);
  }
}

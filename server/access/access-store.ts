import type { Resource } from '@medplum/fhirtypes';
import { FhirError, issue, outcome } from '../errors.js';
import { SqlWriter } from '../search/conditions.js';
import type { Queryable } from '../store/db.js';
import type { HistoryPage, HistoryQuery, ResourceIndexer, ResourceVersion, Store } from '../store/store.js';
import { judgeLastLiveVersion, type InTransaction } from './last-live.js';
import type { RequestAccess } from './request-access.js';
import { owned } from './subscription-owner.js';
import type { Permission } from './scopes.js';

/**
 * The store as one client sees it. Reads of resources outside its policy look absent (404: existence
 * is not revealed); a write must be allowed on the resource as it was and as it will be, checked
 * inside the write's transaction after the index rows are written, so a refused write leaves nothing.
 */
export function accessStore(store: Store, access: RequestAccess, indexer: ResourceIndexer, deferred?: AfterWriteChecks): Store {
  // Inside a transaction the checks on written resources wait for its end: an entry may be allowed
  // only through one written later (a staff role naming the practice the same message creates).
  const afterWrite = async (sql: Queryable, version: ResourceVersion, permission: Permission, verb: string): Promise<void> => {
    const run = () => checkWritten(sql, access, version, permission, verb);
    if (deferred) deferred.push(run);
    else await run();
  };
  const wrapped: Store = new Proxy(store, {
    get(target, prop) {
      switch (prop) {
        case 'read':
          return async (type: string, id: string) => visibleVersion(target, indexer, access, await target.read(type, id));
        case 'vread':
          return async (type: string, id: string, vid: number) => visibleVersion(target, indexer, access, await target.vread(type, id, vid));
        case 'create':
          return (resource: Resource, id?: string) =>
            target.transaction(async (tx) => {
              access.require(resource.resourceType, 'c');
              const written = await tx.create(owned(resource, access.principal), id);
              await afterWrite(tx.sql, written, 'c', 'create');
              return written;
            });
        case 'update':
          return (resource: Resource & { id: string }, ifMatch?: number) =>
            target.transaction(async (tx) => {
              const before = await tx.read(resource.resourceType, resource.id);
              const exists = !!before && !before.deleted;
              access.require(resource.resourceType, exists ? 'u' : 'c');
              if (exists) await check(tx.sql, access, before, 'u', 'update');
              const written = await tx.update(owned(resource, access.principal, exists ? before : undefined), ifMatch);
              await afterWrite(tx.sql, written, written.created ? 'c' : 'u', written.created ? 'create' : 'update');
              return written;
            });
        case 'delete':
          return (type: string, id: string, ifMatch?: number) =>
            target.transaction(async (tx) => {
              access.require(type, 'd');
              const before = await tx.read(type, id);
              if (before && !before.deleted) await check(tx.sql, access, before, 'd', 'delete');
              return tx.delete(type, id, ifMatch);
            });
        case 'history':
          return async (query: HistoryQuery): Promise<HistoryPage> => {
            if (!query.resourceType || !query.id) return target.history(withVisibility(query, access));
            // One resource: all of its versions if the client may read it (or could, before it was deleted).
            access.require(query.resourceType, 'r');
            return (await readable(target, indexer, access, { resourceType: query.resourceType, id: query.id })) ? target.history(query) : { versions: [], total: 0 };
          };
        case 'transaction':
          return <T>(fn: (s: Store) => Promise<T>) =>
            target.transaction(async (tx) => {
              if (deferred) return fn(accessStore(tx, access, indexer, deferred)); // the outermost transaction runs them
              const checks: AfterWriteChecks = [];
              const result = await fn(accessStore(tx, access, indexer, checks));
              for (const run of checks) await run();
              return result;
            });
      }
      const value = Reflect.get(target, prop, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  return wrapped;
}

/** A version of a resource the client may not read is reported as not there at all. */
async function visibleVersion(store: Store, indexer: ResourceIndexer, access: RequestAccess, version: ResourceVersion | undefined): Promise<ResourceVersion | undefined> {
  if (!version) return undefined;
  return (await readable(store, indexer, access, version)) ? version : undefined;
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
  constructor(readonly reference: string, diagnostics: string) {
    super(403, outcome(issue('forbidden', diagnostics)));
  }
}

function refused(access: RequestAccess, version: Pick<ResourceVersion, 'resourceType' | 'id'>, verb: string): PolicyRefusal {
  const reference = `${version.resourceType}/${version.id}`;
  return new PolicyRefusal(reference, `${access.principal.kind} client ${access.principal.clientId} (${access.principal.org}) may not ${verb} ${reference}: it is outside the organisation's access policy`);
}

/** Evaluated on the current row and its index rows: the same SQL search uses, so reads and searches agree. */
export async function allowed(sql: Queryable, access: RequestAccess, version: Pick<ResourceVersion, 'resourceType' | 'id'>, permission: Permission): Promise<boolean> {
  return (await judge(sql, access, version, permission)) === 'allowed';
}

/** As `allowed`, telling a deleted resource (which has no index rows to judge) from a refused one. */
async function judge(sql: Queryable, access: RequestAccess, version: Pick<ResourceVersion, 'resourceType' | 'id'>, permission: Permission): Promise<'allowed' | 'refused' | 'deleted'> {
  const w = new SqlWriter('', new Map());
  const condition = access.condition(w, 'r', version.resourceType, permission);
  if (condition === 'true') return 'allowed';
  if (condition === 'false') return 'refused';
  const type = w.p(version.resourceType);
  const id = w.p(version.id);
  // Two branches rather than one row with both answers: the condition stays in a WHERE clause, where
  // PostgreSQL turns its subqueries into index probes instead of hashing their whole result.
  const rows = await sql.query<{ verdict: 'allowed' | 'deleted' }>(
    `SELECT 'allowed' AS verdict FROM resources r WHERE r.resource_type = ${type} AND r.id = ${id} AND NOT r.deleted AND ${condition}
     UNION ALL SELECT 'deleted' FROM resources r WHERE r.resource_type = ${type} AND r.id = ${id} AND r.deleted`,
    w.values,
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

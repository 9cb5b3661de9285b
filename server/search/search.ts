import type { Bundle, Resource } from '@medplum/fhirtypes';
import type { AccessPolicy } from '../access/policy.js';
import type { Queryable } from '../store/db.js';
import type { AccessSql, AccessVars } from './access-sql.js';
import type { ResourceIndexer } from '../store/store.js';
import type { SearchRegistry } from './registry.js';

/** Where a search runs and how its Bundle links are written. */
export interface SearchContext {
  /** The connection (or open transaction) to search on. */
  sql: Queryable;
  /** Absolute base of the FHIR API, e.g. http://localhost:8080/fhir (no trailing slash). */
  baseUrl: string;
  /** Prefer: handling=strict: unknown or malformed parameters are a 400 instead of being ignored. */
  strict: boolean;
  /** The client's compiled access policy; absent = everything (administrator, or authentication off). */
  access?: AccessSql;
}

/** A compartment search such as GET /Patient/1/CareTeam (https://hl7.org/fhir/R4/compartmentdefinition-patient.html). */
export interface Compartment {
  resourceType: string;
  id: string;
}

/**
 * The search seam (https://hl7.org/fhir/R4/search.html). It also indexes: the store calls
 * index/remove inside each write's transaction so the index rows commit with the resource.
 */
export interface SearchEngine extends ResourceIndexer {
  /** Type search (resourceType given) or system search (undefined, honouring _type); returns a searchset Bundle with paging links. */
  search(ctx: SearchContext, resourceType: string | undefined, params: URLSearchParams, compartment?: Compartment): Promise<Bundle>;
  /** Ids of current resources matching conditional-interaction criteria (If-None-Exist, PUT/DELETE/PATCH Type?criteria), at most `limit`. */
  matchIds(sql: Queryable, resourceType: string, criteria: URLSearchParams, limit: number, access?: AccessSql): Promise<string[]>;
  /** The search parameters and compartments it knows: the audit trail's search parses with them. */
  readonly registry: SearchRegistry;
  /** Compiles a member kind's access policy for one client into the SQL filters every query applies. */
  compileAccess(policy: AccessPolicy, vars: AccessVars): AccessSql;
  /** In-memory: does this resource match the criteria? Agrees with the SQL search (subscription criteria). */
  matches(resource: Resource, criteria: URLSearchParams): boolean;
  /** The search parameters of a type, as the CapabilityStatement lists them. */
  parametersOf(resourceType: string): Array<{ name: string; type: string; definition?: string }>;
}

import type { Bundle, Resource } from '@medplum/fhirtypes';
import type { Queryable } from '../store/db.js';
import type { ResourceIndexer } from '../store/store.js';
import type { SearchRegistry } from './registry.js';
import type { RowFilter } from './row-filter.js';
import type { SqlWriter } from './sql-writer.js';

/** Where a search runs and how its Bundle links are written. */
export interface SearchContext {
  /** The connection (or open transaction) to search on. */
  sql: Queryable;
  /** Absolute base of the FHIR API, e.g. http://localhost:8080/fhir (no trailing slash). */
  baseUrl: string;
  /** Prefer: handling=strict: unknown or malformed parameters are a 400 instead of being ignored. */
  strict: boolean;
  /** The rows the client may see (its access policy, applied without the engine knowing why); absent = everything. */
  access?: RowFilter;
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
  matchIds(sql: Queryable, resourceType: string, criteria: URLSearchParams, limit: number, access?: RowFilter): Promise<string[]>;
  /**
   * A SQL boolean on the row aliased `r` of `resourceType`: does it meet the criteria, as a search would?
   * For a service that writes its own query over the index rows (scheduling's $find). Chains and `_has`
   * reach only rows `access` admits; criteria it cannot parse are a 400 naming the parameter.
   */
  criteriaSql(sql: Queryable, w: SqlWriter, r: string, resourceType: string, criteria: URLSearchParams, access?: RowFilter): Promise<string>;
  /** The search parameters and compartments it knows: the access seam compiles policies with them, the audit trail's search parses with them. */
  readonly registry: SearchRegistry;
  /** In-memory: the resources these reference parameters of the resource point at by Type/id (as the index would hold them). */
  referenceTargets(resource: Resource, params: string[]): Array<{ resourceType: string; id: string }>;
  /** In-memory: does this resource match the criteria? Agrees with the SQL search (subscription criteria). */
  matches(resource: Resource, criteria: URLSearchParams): boolean;
  /** The search parameters of a type, as the CapabilityStatement lists them. */
  parametersOf(resourceType: string): Array<{ name: string; type: string; definition?: string }>;
}

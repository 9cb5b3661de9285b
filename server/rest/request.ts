import type { OperationOutcomeIssue, Resource } from '@medplum/fhirtypes';
import type { RequestAccess } from '../access/request-access.js';
import type { ExportDispatcher } from '../export/dispatcher.js';
import type { SearchEngine } from '../search/search.js';
import type { Queryable } from '../store/db.js';
import type { Store } from '../store/store.js';

/**
 * A FHIR interaction independent of HTTP transport: the Express layer builds one from a request,
 * and batch/transaction processing builds one per Bundle entry (https://hl7.org/fhir/R4/http.html#transaction).
 */
export interface FhirRequest {
  method: 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** Path below the FHIR base, without leading slash or query, e.g. `Patient/1/_history/2`. */
  path: string;
  query: URLSearchParams;
  headers: {
    ifMatch?: string;
    ifNoneMatch?: string;
    ifModifiedSince?: string;
    ifNoneExist?: string;
    /** X-Request-ID as the client sent it (idempotency of messages). */
    requestId?: string;
    /** Prefer: handling=strict (search). */
    strict?: boolean;
    /** Prefer: return= (https://hl7.org/fhir/R4/http.html#ops); batch/transaction apply it to each entry. */
    preferReturn?: 'minimal' | 'representation' | 'OperationOutcome';
    /** Prefer: respond-async (Bulk Data $export kick-off). */
    respondAsync?: boolean;
  };
  contentType?: string;
  body?: unknown;
}

export interface FhirResponse {
  status: number;
  /** A resource, or its stored JSON text (read fast path: sent without re-serialising). */
  body?: Resource | string;
  headers?: Record<string, string>;
  /** Set when the response body is the resource written (so Prefer: return=minimal can drop it). */
  written?: boolean;
  /** Warnings and information about the resource written (unknown profiles, bindings not checked), shown with Prefer: return=OperationOutcome. */
  notes?: OperationOutcomeIssue[];
}

/** What every interaction handler needs: the store (bound to a transaction inside bundles), search and the public base URL. */
export interface FhirContext {
  store: Store;
  /**
   * The hub's own store, beneath every client's access and outside any transaction: for the
   * housekeeping a client's request triggers on everyone's behalf (expiring lapsed holds, keeping
   * $find's proposals). What it reads is never returned to the client as such.
   */
  hub: Store;
  search: SearchEngine;
  baseUrl: string;
  /** The FHIR base as this request reached it (scheme, host, /fhir), when it differs from baseUrl: references to it are local too. */
  requestBase?: string;
  /** Where $export kick-offs hand their jobs (server/export); absent where bulk export is not wired. */
  exports?: ExportDispatcher;
  /** The calling client's scopes and policy; absent when authentication is off. store and search already apply it. */
  access?: RequestAccess;
  /**
   * Whether criteria match resources the client may not see (set with `access`). Conditional writes
   * ask it when they match nothing visible: writing anyway would duplicate a record the client cannot see.
   */
  hiddenMatch?(sql: Queryable, type: string, criteria: URLSearchParams): Promise<boolean>;
  /**
   * Search without the client's access policy (set with `access`), for the hub's own look-ups that
   * route what a client sends (a consultation summary to the patient's registered practice). What it
   * finds is never returned to the client as such.
   */
  hubSearch?: SearchEngine;
}

export type Handler = (req: FhirRequest, ctx: FhirContext, params: Record<string, string>) => Promise<FhirResponse>;

/** The router's entry point: a FHIR request to its response (batch and transaction entries go through it too). */
export type Route = (req: FhirRequest, ctx: FhirContext) => Promise<FhirResponse>;

import type { SqlWriter } from './sql-writer.js';

/** What a search uses a row for: `s` to match it, `r` to reach it (includes, chains, `_has`). */
export type RowUse = 'r' | 's';

/**
 * Which rows one client's searches may match and reach, as SQL the engine applies without knowing
 * why: the access seam's answer (server/access), as fhir-works-on-aws's authorization seam answers
 * getSearchFilterBasedOnIdentity. Search, paging, totals, includes, chains and `_has` all apply it.
 */
export interface RowFilter {
  /** May the client use any resource of the type this way (before looking at rows)? */
  grants(type: string, use: RowUse): boolean;
  /**
   * A SQL boolean on the row aliased `r`, of `type` (for AuditEvent, a row of the audit trail's own table).
   * `fewRows`: the query's own filters leave few rows whatever the values (an id, an identifier, a
   * reference to one resource), so the condition may be judged row by row rather than as a whole set.
   */
  condition(w: SqlWriter, r: string, type: string, use: RowUse, fewRows?: boolean): string;
  /** The same when `r.resource_type` is known only when the query runs (system search, `_include:*`). */
  anyType(w: SqlWriter, r: string, use: RowUse): string;
}

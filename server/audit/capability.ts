import type { CapabilityStatement } from '@medplum/fhirtypes';
import { AUDIT_SEARCH_PARAMETERS } from './trail-search.js';

/** The audit trail in the CapabilityStatement: written by the server only, so read, history and search, by the parameters its own table answers. */
export function auditTrailCapability(statement: CapabilityStatement): void {
  for (const resource of statement.rest?.[0].resource ?? []) {
    if (resource.type !== 'AuditEvent') continue;
    resource.interaction = resource.interaction?.filter((i) => ['read', 'vread', 'history-instance', 'history-type', 'search-type'].includes(i.code));
    Object.assign(resource, { updateCreate: false, conditionalCreate: false, conditionalUpdate: false, conditionalDelete: 'not-supported' });
    // The audit trail's own table answers these (server/audit/trail-search.ts), and no others.
    resource.searchParam = resource.searchParam?.filter((p) => AUDIT_SEARCH_PARAMETERS.includes(p.name));
    resource.searchInclude = [];
    resource.searchRevInclude = [];
  }
}

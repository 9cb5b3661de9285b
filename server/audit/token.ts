import { isClientKind } from '../auth/principal.js';
import type { TokenAuditRecord } from '../auth/token-endpoint.js';
import type { AuditRecord } from './record.js';

/** A token request as the audit trail records it: a login (success) or a refused one, with the client it claimed. */
export function tokenAuditRecord(e: TokenAuditRecord): AuditRecord {
  const known = e.clientId && e.org && e.kind && isClientKind(e.kind);
  return {
    interaction: 'token',
    ...(known ? { principal: { clientId: e.clientId!, org: e.org! } } : {}),
    status: e.outcome === 'success' ? 200 : 401,
    ...(e.reason || (!known && e.clientId) ? { description: [e.reason, !known && e.clientId ? `claimed client ${e.clientId}` : ''].filter(Boolean).join('; ') } : {}),
    resources: [],
    patients: [],
    ...(e.sourceAddress ? { sourceAddress: e.sourceAddress } : {}),
  };
}

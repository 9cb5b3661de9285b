import type { Principal } from '../auth/principal.js';

/** What the audit trail records of one interaction, before it becomes an AuditEvent (audit-event.ts). */
export const AUDIT_INTERACTIONS = ['read', 'vread', 'search', 'history', 'create', 'update', 'patch', 'delete', 'operation', 'batch', 'transaction', 'capabilities', 'token', 'notification'] as const;
export type AuditInteraction = (typeof AUDIT_INTERACTIONS)[number];

export interface AuditRecord {
  interaction: AuditInteraction;
  /** Operation name with its `$`, e.g. `$everything`. */
  operation?: string;
  /** Absent when the caller was not authenticated; the trail keeps the client id and its organisation. */
  principal?: Pick<Principal, 'clientId' | 'org'>;
  /** HTTP status answered (or, for a notification, the endpoint's reply; 0 when it could not be reached). */
  status: number;
  /** Error text, when the interaction failed. */
  description?: string;
  /** Search or operation query string, without the leading `?`. */
  query?: string;
  /** `Type/id` of each resource touched. */
  resources: string[];
  /** Ids of the patients whose data was touched. */
  patients: string[];
  requestId?: string;
  /** The caller's network address. */
  sourceAddress?: string;
  /** `Subscription/id`, for notifications. */
  subscription?: string;
}

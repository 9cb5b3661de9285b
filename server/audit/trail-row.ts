import { randomUUID } from 'node:crypto';
import type { AuditEvent } from '@medplum/fhirtypes';
import type { Queryable } from '../store/db.js';
import type { ResourceVersion } from '../store/store.js';
import { auditEventOf, INSTANCE_INTERACTIONS } from './audit-event.js';
import type { AuditInteraction, AuditRecord } from './record.js';

/** One row of the audit_event table (migration 050_audit_trail): an AuditRecord as stored. */
export interface AuditRow {
  id: string;
  recorded: Date;
  interaction: AuditInteraction;
  operation: string | null;
  status: number;
  client: string | null;
  org: string | null;
  patients: string[];
  /** `Patient/id` of each patient, the resources touched, the subscription of a notification: what the entity and patient searches look in. */
  entities: string[];
  subscription: string | null;
  query: string | null;
  description: string | null;
  request_id: string | null;
  source_address: string | null;
  server_address: string | null;
}

export const AUDIT_COLUMNS = 'id, recorded, interaction, operation, status, client, org, patients, entities, subscription, query, description, request_id, source_address, server_address';

/** The row of one record, recorded now. */
export function auditRowOf(record: AuditRecord, recorded: Date, serverAddress?: string): AuditRow {
  const entities = [...new Set([...record.patients.map((id) => `Patient/${id}`), ...record.resources, ...(record.subscription ? [record.subscription] : [])])];
  return {
    id: uuidV7(recorded.getTime()),
    recorded,
    interaction: record.interaction,
    operation: record.operation ?? null,
    status: record.status,
    client: record.principal?.clientId ?? null,
    org: record.principal?.org ?? null,
    patients: record.patients,
    entities,
    subscription: record.subscription ?? null,
    query: record.query ?? null,
    description: record.description ?? null,
    request_id: record.requestId ?? null,
    source_address: record.sourceAddress ?? null,
    server_address: serverAddress ?? null,
  };
}

/** Writes rows in one statement, whatever their number. */
export async function insertAuditRows(sql: Queryable, rows: AuditRow[]): Promise<void> {
  if (!rows.length) return;
  const params: unknown[] = [];
  await sql.query(auditInsert((v) => `$${params.push(v)}`, rows), params, { prepared: true });
}

/** The INSERT of rows, its one parameter bound with `bind`. */
export function auditInsert(bind: (value: unknown) => string, rows: AuditRow[]): string {
  // One JSON parameter, not one per column: text[] columns cannot travel through unnest.
  return `INSERT INTO audit_event (${AUDIT_COLUMNS}) SELECT ${AUDIT_COLUMNS} FROM json_populate_recordset(NULL::audit_event, ${bind(rowsJson(rows))}::json)`;
}

/**
 * The rows as JSON. PostgreSQL's text holds no NUL, and one refused a whole batch, the other
 * requests' events with it: a NUL a client sent (in an element's name an error quotes, say) is
 * recorded as U+FFFD. The scan for one is cheap; the replacer runs only when there is one.
 */
function rowsJson(rows: AuditRow[]): string {
  const json = JSON.stringify(rows);
  return json.includes('\\u0000') ? JSON.stringify(rows, (_key, value: unknown) => (typeof value === 'string' ? value.replaceAll('\0', '\ufffd') : value)) : json;
}

/** The AuditEvent of a row, in the IHE BALP shape of audit-event.ts; every event has one version. */
export function auditEventOfRow(row: AuditRow): AuditEvent & { id: string } {
  const recorded = new Date(row.recorded);
  // The patients and the subscription have entities of their own (audit-event.ts): the rest are the resources.
  const own = new Set([...row.patients.map((id) => `Patient/${id}`), ...(row.subscription ? [row.subscription] : [])]);
  const others = row.entities.filter((e) => !own.has(e));
  // The row keeps each entity once: an interaction on one resource that names no other touched the Patient itself.
  const resources = !others.length && INSTANCE_INTERACTIONS.has(row.interaction) ? row.patients.map((id) => `Patient/${id}`) : others;
  const record: AuditRecord = { interaction: row.interaction, status: row.status, resources, patients: row.patients };
  if (row.operation) record.operation = row.operation;
  if (row.client) record.principal = { clientId: row.client, org: row.org ?? '' };
  if (row.description) record.description = row.description;
  if (row.query) record.query = row.query;
  if (row.request_id) record.requestId = row.request_id;
  if (row.source_address) record.sourceAddress = row.source_address;
  if (row.subscription) record.subscription = row.subscription;
  const event = auditEventOf(record, recorded, row.server_address ?? undefined);
  const { resourceType, ...rest } = event;
  return { resourceType, id: row.id, meta: { versionId: '1', lastUpdated: recorded.toISOString() }, ...rest };
}

/** A row as the store serves it: version 1, never deleted. */
export function auditVersionOf(row: AuditRow): ResourceVersion {
  return { resourceType: 'AuditEvent', id: row.id, versionId: 1, lastUpdated: new Date(row.recorded), deleted: false, content: JSON.stringify(auditEventOfRow(row)) };
}

const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
/** Any UUID: AuditEvent ids, and the paging cursors of its history. */
export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * The condition finding AuditEvent/id, or undefined for an id that is no UUID (it names no event,
 * and must not reach the uuid column as a cast error). The time in a UUIDv7 names the partition
 * and the row; an event recorded before the trail had its own table keeps its UUIDv4, found through
 * its own index (migration 110).
 */
export function auditIdCondition(id: string, bind: (value: unknown) => string, alias = 'audit_event'): string | undefined {
  if (UUID_V7.test(id)) return `${alias}.recorded = ${bind(new Date(parseInt(id.slice(0, 8) + id.slice(9, 13), 16)))} AND ${alias}.id = ${bind(id)}::uuid`;
  // The predicate of the index audit_event_legacy_id, written as there so that the planner uses it.
  if (UUID.test(id)) return `${alias}.id = ${bind(id)}::uuid AND substr(${alias}.id::text, 15, 1) <> '7'`;
  return undefined;
}

/** The row of AuditEvent/id, if there is one. */
export async function readAuditRow(sql: Queryable, id: string): Promise<AuditRow | undefined> {
  const params: unknown[] = [];
  const condition = auditIdCondition(id, (v) => `$${params.push(v)}`);
  if (!condition) return undefined;
  return (await sql.query<AuditRow>(`SELECT ${AUDIT_COLUMNS} FROM audit_event WHERE ${condition}`, params))[0];
}

/**
 * A UUIDv7 (RFC 9562): 48 bits of Unix milliseconds, version, 74 random bits. The random bits and
 * the variant are a UUIDv4's from randomUUID, which draws on a cached pool of entropy: a call of
 * its own to the random source for every event cost more than building the row.
 */
function uuidV7(ms: number): string {
  const time = ms.toString(16).padStart(12, '0');
  // xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx: everything after the version digit is kept.
  return `${time.slice(0, 8)}-${time.slice(8)}-7${randomUUID().slice(15)}`;
}

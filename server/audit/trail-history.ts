import { badRequest } from '../errors.js';
import type { Queryable } from '../store/db.js';
import type { HistoryPage, HistoryQuery } from '../store/store.js';
import { AUDIT_COLUMNS, auditIdCondition, auditVersionOf, UUID, type AuditRow } from './trail-row.js';

/**
 * AuditEvent/_history and AuditEvent/id/_history from the audit trail: each event is its one and
 * only version (a create), newest first, keyset-paged on (recorded, id).
 */
export async function auditHistoryPage(sql: Queryable, query: HistoryQuery): Promise<HistoryPage> {
  const where: string[] = [];
  const params: unknown[] = [];
  const bind = (v: unknown): string => {
    params.push(v);
    return `$${params.length}`;
  };
  // The client's access, judged on the row as search judges it.
  if (query.visible) where.push(query.visible(bind, 'a'));
  if (query.id) {
    // By the time in its id, as a read finds it: one partition, not every month's.
    const condition = auditIdCondition(query.id, bind, 'a');
    if (!condition) return { versions: [], total: 0 };
    where.push(condition);
  }
  if (query.since) where.push(`recorded >= ${bind(query.since)}`);
  // Never replaced: current at some point in [from, to) once recorded before `to`.
  if (query.at) where.push(`recorded < ${bind(query.at.to)}`);
  const filter = where.length ? `WHERE ${where.join(' AND ')}` : '';
  const total = (await sql.query<{ n: number }>(`SELECT count(*)::int AS n FROM audit_event a ${filter}`, params))[0]?.n ?? 0;
  if (query.cursor) {
    const [t, id] = decodeCursor(query.cursor);
    where.push(`(recorded, id) < (${bind(t)}::timestamptz, ${bind(id)}::uuid)`);
  }
  const rows = await sql.query<AuditRow>(
    `SELECT ${AUDIT_COLUMNS} FROM audit_event a ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY recorded DESC, id DESC LIMIT ${bind(query.count + 1)}`,
    params,
  );
  const page = rows.slice(0, query.count);
  const last = page[page.length - 1];
  return {
    versions: page.map(auditVersionOf),
    total,
    ...(rows.length > query.count && last ? { nextCursor: Buffer.from(JSON.stringify([new Date(last.recorded).toISOString(), last.id])).toString('base64url') } : {}),
  };
}

function decodeCursor(s: string): [string, string] {
  try {
    const c = JSON.parse(Buffer.from(s, 'base64url').toString('utf8'));
    if (Array.isArray(c) && c.length === 2 && typeof c[0] === 'string' && !Number.isNaN(Date.parse(c[0])) && UUID.test(c[1])) return [new Date(c[0]).toISOString(), c[1]];
  } catch {
    // fall through
  }
  throw badRequest('The paging cursor is not one this server issued', '_cursor');
}

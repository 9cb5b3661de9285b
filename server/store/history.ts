import { badRequest } from '../errors.js';
import type { Queryable } from './db.js';
import { toVersion } from './rows.js';
import type { HistoryPage, HistoryQuery } from './store.js';

/**
 * One page of history, newest first, keyset-paged on (last_updated, resource_type, id, version_id)
 * so pages stay stable while new versions are written. https://hl7.org/fhir/R4/http.html#history
 */
export async function historyPage(sql: Queryable, query: HistoryQuery): Promise<HistoryPage> {
  const where: string[] = [];
  const params: unknown[] = [];
  const bind = (v: unknown): string => {
    params.push(v);
    return `$${params.length}`;
  };
  if (query.resourceType) where.push(`h.resource_type = ${bind(query.resourceType)}`);
  // System history lists changes to the record; the audit trail, written on every request, is AuditEvent/_history.
  else where.push(`h.resource_type <> 'AuditEvent'`);
  if (query.id) where.push(`h.id = ${bind(query.id)}`);
  if (query.since) where.push(`h.last_updated >= ${bind(query.since)}`);
  if (query.at) {
    // Current at some point in [from, to): written before `to`, and not replaced before `from`.
    where.push(`h.last_updated < ${bind(query.at.to)}`);
    where.push(`NOT EXISTS (SELECT 1 FROM resource_history n WHERE n.resource_type = h.resource_type AND n.id = h.id
      AND n.version_id > h.version_id AND n.last_updated <= ${bind(query.at.from)})`);
  }
  if (query.visible) {
    where.push(`EXISTS (SELECT 1 FROM resources r WHERE r.resource_type = h.resource_type AND r.id = h.id AND NOT r.deleted AND ${query.visible(bind, 'r')})`);
  }
  const filter = where.length ? `WHERE ${where.join(' AND ')}` : '';
  const totalRows = await sql.query<{ n: number }>(`SELECT count(*)::int AS n FROM resource_history h ${filter}`, params);

  const pageWhere = [...where];
  const pageParams = [...params];
  if (query.cursor) {
    const [t, type, id, v] = decodeCursor(query.cursor);
    pageParams.push(t, type, id, v);
    const n = pageParams.length;
    pageWhere.push(`(h.last_updated, h.resource_type, h.id, h.version_id) < ($${n - 3}::timestamptz, $${n - 2}, $${n - 1}, $${n}::int)`);
  }
  pageParams.push(query.count + 1);
  const rows = await sql.query<Parameters<typeof toVersion>[0]>(
    `SELECT h.resource_type, h.id, h.version_id, h.last_updated, h.deleted, h.content FROM resource_history h
     ${pageWhere.length ? `WHERE ${pageWhere.join(' AND ')}` : ''}
     ORDER BY h.last_updated DESC, h.resource_type DESC, h.id DESC, h.version_id DESC LIMIT $${pageParams.length}`,
    pageParams,
  );
  const versions = rows.slice(0, query.count).map(toVersion);
  const last = versions[versions.length - 1];
  return {
    versions,
    total: totalRows[0]?.n ?? 0,
    ...(rows.length > query.count && last ? { nextCursor: encodeCursor([last.lastUpdated.toISOString(), last.resourceType, last.id, last.versionId]) } : {}),
  };
}

type Cursor = [string, string, string, number];

function encodeCursor(c: Cursor): string {
  return Buffer.from(JSON.stringify(c)).toString('base64url');
}

function decodeCursor(s: string): Cursor {
  try {
    const c = JSON.parse(Buffer.from(s, 'base64url').toString('utf8'));
    if (Array.isArray(c) && c.length === 4) return c as Cursor;
  } catch {
    // fall through
  }
  throw badRequest('The paging cursor is not one this server issued', '_cursor');
}

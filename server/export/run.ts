import type { Group } from '@medplum/fhirtypes';
import { isKnownResourceType } from '../../profiles/validator.js';
import { patientCompartment } from '../care/compartment-walk.js';
import type { SearchEngine } from '../search/search.js';
import { idOf } from '../fhir/reference.js';
import { AUDIT_COLUMNS, auditEventOfRow, type AuditRow } from '../audit/trail-row.js';
import type { Queryable } from '../store/db.js';
import { ExportJobs, type ExportJob } from './jobs.js';
import { DEFAULT_LIMITS, NdjsonWriter, type WriterLimits } from './ndjson-writer.js';

export interface ExportDeps {
  sql: Queryable;
  search: SearchEngine;
  /** Public FHIR base (read late: tests learn their port after start). */
  baseUrl: () => string;
  limits?: WriterLimits;
}

export type ExportOutcome = 'completed' | 'cancelled';

const PAGE = 1000;
const CHECKPOINT_MS = 300;

/** Thrown inside a run when the job row is gone: the client cancelled it. */
class Cancelled extends Error {}

/**
 * Runs one export job to its end: writes the NDJSON files and marks the job completed. Restartable:
 * an attempt starts by dropping what an earlier, interrupted attempt wrote. Transport-neutral: the
 * BullMQ worker and the in-process runner both call it. Throws on failure (the caller decides
 * whether to retry or mark the job failed); returns 'cancelled' when the job was deleted meanwhile.
 */
export async function runExport(deps: ExportDeps, jobId: string, signal?: AbortSignal): Promise<ExportOutcome> {
  const jobs = new ExportJobs(deps.sql);
  const job = await jobs.get(jobId);
  if (!job || job.status === 'completed' || job.status === 'failed') return 'cancelled';
  if (!(await jobs.begin(jobId))) return 'cancelled';
  const writer = new NdjsonWriter(jobs, jobId, deps.limits ?? DEFAULT_LIMITS);
  let last = 0;
  const checkpoint = async (progress: () => string, force = false): Promise<void> => {
    if (signal?.aborted) throw new Error(`export ${jobId} interrupted: ${String(signal.reason ?? 'shutting down')}`);
    if (!force && Date.now() - last < CHECKPOINT_MS) return;
    last = Date.now();
    if (!(await jobs.progress(jobId, progress()))) throw new Cancelled();
  };
  try {
    if (job.level === 'system') await exportSystem(deps, job, writer, checkpoint);
    else await exportPatients(deps, job, writer, checkpoint);
    await writer.finish();
    await checkpoint(() => 'finishing', true);
    await jobs.complete(jobId);
    return 'completed';
  } catch (err) {
    // A cancel deletes the job; writes then fail on the foreign keys, or the checkpoint notices.
    if (err instanceof Cancelled || !(await jobs.get(jobId))) return 'cancelled';
    throw err;
  }
}

type Checkpoint = (progress: () => string, force?: boolean) => Promise<void>;

/** System level: every current resource of the requested types (or of every type holding data), type by type. */
async function exportSystem(deps: ExportDeps, job: ExportJob, writer: NdjsonWriter, checkpoint: Checkpoint): Promise<void> {
  const types = job.types ?? (await typesWithData(deps.sql));
  for (const [i, type] of types.entries()) {
    const progress = (): string => `${Math.floor((100 * i) / types.length)}% (${type}, type ${i + 1} of ${types.length}; ${writer.written} resources written)`;
    if (type === 'AuditEvent') {
      await exportAuditTrail(deps.sql, job.since, writer, () => checkpoint(progress));
      continue;
    }
    let after = '';
    for (;;) {
      await checkpoint(progress);
      // Keyset paging over the primary key: constant cost per page however large the table.
      const rows = await deps.sql.query<{ id: string; content: string }>(
        `SELECT id, content FROM resources WHERE resource_type = $1 AND NOT deleted AND id > $2
           AND ($3::timestamptz IS NULL OR last_updated > $3::timestamptz) ORDER BY id LIMIT ${PAGE}`,
        [type, after, job.since ?? null],
      );
      for (const r of rows) await writer.add(type, r.content);
      if (rows.length < PAGE) break;
      after = rows[rows.length - 1].id;
    }
  }
}

/**
 * The audit trail, oldest first, keyset-paged on (recorded, id): with _since, what was recorded
 * since the last export, which is how an operator ships the trail to another store.
 */
async function exportAuditTrail(sql: Queryable, since: Date | undefined, writer: NdjsonWriter, checkpoint: () => Promise<void>): Promise<void> {
  let after: [Date, string] | undefined;
  for (;;) {
    await checkpoint();
    const rows = await sql.query<AuditRow>(
      `SELECT ${AUDIT_COLUMNS} FROM audit_event WHERE ($1::timestamptz IS NULL OR recorded > $1::timestamptz)
         AND ($2::timestamptz IS NULL OR (recorded, id) > ($2::timestamptz, $3::uuid)) ORDER BY recorded, id LIMIT ${PAGE}`,
      [since ?? null, after?.[0] ?? null, after?.[1] ?? null],
    );
    for (const r of rows) await writer.add('AuditEvent', JSON.stringify(auditEventOfRow(r)));
    if (rows.length < PAGE) return;
    const last = rows[rows.length - 1];
    after = [last.recorded, last.id];
  }
}

/**
 * Patient and Group level: each patient's compartment (through the search engine, so membership
 * has one definition: https://hl7.org/fhir/R4/compartmentdefinition-patient.html), each resource
 * once even when it sits in several patients' compartments.
 */
async function exportPatients(deps: ExportDeps, job: ExportJob, writer: NdjsonWriter, checkpoint: Checkpoint): Promise<void> {
  const patients = job.level === 'group' ? await groupPatients(deps.sql, job.groupId!) : await allPatients(deps.sql);
  const wanted = job.types && new Set(job.types);
  const filter = new URLSearchParams();
  if (job.since) filter.set('_lastUpdated', `gt${job.since.toISOString()}`);
  const seen = new Set<string>();
  for (const [i, patientId] of patients.entries()) {
    await checkpoint(() => `${Math.floor((100 * i) / patients.length)}% (patient ${i + 1} of ${patients.length}; ${writer.written} resources written)`);
    const ctx = { sql: deps.sql, baseUrl: deps.baseUrl(), strict: false };
    const compartment = await patientCompartment(deps.search, ctx, patientId, filter);
    // The accesses to each patient's record, when asked for by name.
    if (wanted?.has('AuditEvent')) compartment.push(...(await patientCompartment(deps.search, ctx, patientId, filter, 'AuditEvent')));
    for (const resource of compartment) {
      const key = `${resource.resourceType}/${resource.id}`;
      if ((wanted && !wanted.has(resource.resourceType)) || seen.has(key)) continue;
      seen.add(key);
      await writer.add(resource.resourceType, JSON.stringify(resource));
    }
  }
}

async function allPatients(sql: Queryable): Promise<string[]> {
  const rows = await sql.query<{ id: string }>(`SELECT id FROM resources WHERE resource_type = 'Patient' AND NOT deleted ORDER BY id`);
  return rows.map((r) => r.id);
}

/** The patients a Group lists as active members (https://hl7.org/fhir/uv/bulkdata/export.html#endpoint---group-of-patients). */
export async function groupPatients(sql: Queryable, groupId: string): Promise<string[]> {
  const rows = await sql.query<{ content: string }>(`SELECT content FROM resources WHERE resource_type = 'Group' AND id = $1 AND NOT deleted`, [groupId]);
  if (!rows.length) return [];
  const group = JSON.parse(rows[0].content) as Group;
  const ids = new Set<string>();
  for (const m of group.member ?? []) {
    if (m.inactive) continue;
    const id = idOf(m.entity?.reference, 'Patient');
    if (id) ids.add(id);
  }
  return [...ids];
}

/**
 * Every resource type with current data: a loose index scan over the primary key, not a table scan.
 * The audit trail is exported only when asked for (_type=AuditEvent), as it is searched.
 */
async function typesWithData(sql: Queryable): Promise<string[]> {
  const rows = await sql.query<{ t: string }>(
    `WITH RECURSIVE t AS (SELECT min(resource_type) AS t FROM resources UNION ALL SELECT (SELECT min(resource_type) FROM resources WHERE resource_type > t.t) FROM t WHERE t.t IS NOT NULL) SELECT t FROM t WHERE t IS NOT NULL`,
  );
  return rows.map((r) => r.t).filter((t) => isKnownResourceType(t) && t !== 'AuditEvent');
}

import type { Queryable } from '../store/db.js';

export type ExportLevel = 'system' | 'patient' | 'group';
export type ExportStatus = 'accepted' | 'in-progress' | 'completed' | 'failed';
/** Who runs the job: a BullMQ worker, or the API process itself when no Redis is configured. */
export type ExportRunnerKind = 'queue' | 'in-process';

/** What a kick-off asked for (https://hl7.org/fhir/uv/bulkdata/export.html#query-parameters). */
export interface ExportRequest {
  level: ExportLevel;
  groupId?: string;
  /** _type: only these resource types (undefined = all). */
  types?: string[];
  /** _since: only resources changed after this instant. */
  since?: Date;
  outputFormat: string;
  /** The kick-off URL, echoed in the manifest's `request`. */
  requestUrl: string;
}

export interface ExportJob extends ExportRequest {
  id: string;
  status: ExportStatus;
  runner: ExportRunnerKind;
  transactionTime: Date;
  completedAt?: Date;
  progress?: string;
  error?: string;
  attempts: number;
}

export interface ExportFile {
  fileNo: number;
  resourceType: string;
  count: number;
}

interface JobRow {
  id: string;
  status: ExportStatus;
  request_url: string;
  level: ExportLevel;
  group_id: string | null;
  types: string[] | null;
  since: Date | null;
  output_format: string;
  runner: ExportRunnerKind;
  transaction_time: Date;
  completed_at: Date | null;
  progress: string | null;
  error: string | null;
  attempts: number;
}

/** How long a finished export (its manifest and files) is kept before kick-offs sweep it away. */
export const RETENTION_MS = 24 * 3600 * 1000;

/** Job rows, output files and their NDJSON chunks: the SQL of bulk export, in one place. */
export class ExportJobs {
  constructor(private readonly sql: Queryable) {}

  async create(id: string, request: ExportRequest, runner: ExportRunnerKind): Promise<ExportJob> {
    const rows = await this.sql.query<JobRow>(
      `INSERT INTO export_job (id, status, request_url, level, group_id, types, since, output_format, runner, transaction_time)
       VALUES ($1, 'accepted', $2, $3, $4, $5, $6, $7, $8, now()) RETURNING *`,
      [id, request.requestUrl, request.level, request.groupId ?? null, request.types ?? null, request.since ?? null, request.outputFormat, runner],
    );
    return toJob(rows[0]);
  }

  async get(id: string): Promise<ExportJob | undefined> {
    const rows = await this.sql.query<JobRow>('SELECT * FROM export_job WHERE id = $1', [id]);
    return rows[0] && toJob(rows[0]);
  }

  /** Starts (or restarts, after a crashed attempt) a job: earlier partial output is dropped. False if the job is gone (cancelled). */
  async begin(id: string): Promise<boolean> {
    await this.sql.query('DELETE FROM export_file WHERE job_id = $1', [id]);
    const rows = await this.sql.query(
      `UPDATE export_job SET status = 'in-progress', attempts = attempts + 1, progress = 'starting', error = NULL, updated_at = now() WHERE id = $1 RETURNING id`,
      [id],
    );
    return rows.length > 0;
  }

  /** False once the job has been deleted: the runner stops at its next checkpoint. */
  async progress(id: string, text: string): Promise<boolean> {
    const rows = await this.sql.query('UPDATE export_job SET progress = $2, updated_at = now() WHERE id = $1 RETURNING id', [id, text]);
    return rows.length > 0;
  }

  async complete(id: string): Promise<void> {
    await this.sql.query(`UPDATE export_job SET status = 'completed', progress = NULL, completed_at = now(), updated_at = now() WHERE id = $1`, [id]);
  }

  async fail(id: string, error: string): Promise<void> {
    await this.sql.query(`UPDATE export_job SET status = 'failed', error = $2, completed_at = now(), updated_at = now() WHERE id = $1`, [id, error.slice(0, 2000)]);
  }

  /** Cancel = delete: the job row, and through the foreign keys its files and chunks. */
  async delete(id: string): Promise<boolean> {
    const rows = await this.sql.query('DELETE FROM export_job WHERE id = $1 RETURNING id', [id]);
    return rows.length > 0;
  }

  /**
   * Drops jobs finished, or untouched (never taken by a worker, or orphaned by an in-process runner
   * that died), for longer than the retention period. Run at kick-off: no scheduler needed.
   */
  async sweep(): Promise<void> {
    await this.sql.query('DELETE FROM export_job WHERE completed_at < $1 OR updated_at < $1', [new Date(Date.now() - RETENTION_MS)]);
  }

  async files(id: string): Promise<ExportFile[]> {
    const rows = await this.sql.query<{ file_no: number; resource_type: string; count: number }>(
      'SELECT file_no, resource_type, count FROM export_file WHERE job_id = $1 ORDER BY file_no',
      [id],
    );
    return rows.map((r) => ({ fileNo: Number(r.file_no), resourceType: r.resource_type, count: Number(r.count) }));
  }

  /** Appends one chunk of NDJSON lines to a file, creating the file row with its first chunk. */
  async appendChunk(id: string, file: ExportFile, chunkNo: number, content: string, lines: number): Promise<void> {
    if (chunkNo === 0) {
      await this.sql.query('INSERT INTO export_file (job_id, file_no, resource_type, count) VALUES ($1, $2, $3, 0)', [id, file.fileNo, file.resourceType]);
    }
    await this.sql.query('INSERT INTO export_chunk (job_id, file_no, chunk_no, content) VALUES ($1, $2, $3, $4)', [id, file.fileNo, chunkNo, content]);
    await this.sql.query('UPDATE export_file SET count = count + $3 WHERE job_id = $1 AND file_no = $2', [id, file.fileNo, lines]);
  }

  /** A file's chunks from chunkNo on, a few at a time, so a large file is never held in memory whole. */
  async chunks(id: string, fileNo: number, fromChunk: number, limit: number): Promise<Array<{ chunkNo: number; content: string }>> {
    const rows = await this.sql.query<{ chunk_no: number; content: string }>(
      'SELECT chunk_no, content FROM export_chunk WHERE job_id = $1 AND file_no = $2 AND chunk_no >= $3 ORDER BY chunk_no LIMIT $4',
      [id, fileNo, fromChunk, limit],
    );
    return rows.map((r) => ({ chunkNo: Number(r.chunk_no), content: r.content }));
  }
}

function toJob(row: JobRow): ExportJob {
  return {
    id: row.id,
    status: row.status,
    requestUrl: row.request_url,
    level: row.level,
    ...(row.group_id ? { groupId: row.group_id } : {}),
    ...(row.types ? { types: row.types } : {}),
    ...(row.since ? { since: new Date(row.since) } : {}),
    outputFormat: row.output_format,
    runner: row.runner,
    transactionTime: new Date(row.transaction_time),
    ...(row.completed_at ? { completedAt: new Date(row.completed_at) } : {}),
    ...(row.progress ? { progress: row.progress } : {}),
    ...(row.error ? { error: row.error } : {}),
    attempts: Number(row.attempts),
  };
}

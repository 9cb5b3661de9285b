import type express from 'express';
import type { NextFunction, Request, Response } from 'express';
import type { Principal } from '../auth/principal.js';
import { FhirError, forbidden, issue, notFound, outcome } from '../errors.js';
import type { ExportDispatcher } from '../export/dispatcher.js';
import { ExportJobs, RETENTION_MS, type ExportJob } from '../export/jobs.js';
import { fileUrl, STATUS_PATH } from '../export/urls.js';
import { hasControlCharacter } from '../fhir/url-text.js';
import type { Queryable } from '../store/db.js';
import { send } from './respond.js';


const CHUNKS_PER_READ = 8;
/** Suggested polling interval, in seconds. */
const RETRY_AFTER = '2';

export interface ExportRouteDeps {
  sql: Queryable;
  dispatcher: ExportDispatcher;
  baseUrl: () => string;
  /** The status and file URLs need the bearer token (authentication on), as the manifest says. */
  requiresAccessToken: boolean;
}

/** The Bulk Data status and file endpoints (https://hl7.org/fhir/uv/bulkdata/export.html#bulk-data-status-request). */
export function mountExportRoutes(app: express.Express, deps: ExportRouteDeps): void {
  const jobs = new ExportJobs(deps.sql);
  const base = `/fhir/${STATUS_PATH}`;
  // Only administrators may kick off an export (it reads past every client's policy), so only they
  // may poll, download or cancel one: the files hold the whole database.
  const handle = (fn: (req: Request, res: Response) => Promise<void>) => (req: Request, res: Response, next: NextFunction) => {
    const principal = res.locals.principal as Principal | undefined;
    if (deps.requiresAccessToken && principal?.kind !== 'admin') return next(forbidden('Bulk export status and files are available to administrator clients only'));
    fn(req, res).catch(next);
  };

  app.get(`${base}/:id`, handle(async (req, res) => {
    const job = await known(jobs, jobId(req));
    if (job.status === 'accepted' || job.status === 'in-progress') {
      send(res, 202, undefined, { 'X-Progress': (job.progress ?? job.status).slice(0, 100), 'Retry-After': RETRY_AFTER }, false);
      return;
    }
    if (job.status === 'failed') {
      throw new FhirError(500, outcome(issue('exception', `The export failed: ${job.error ?? 'unknown error'}`)));
    }
    const manifest = await completeManifest(jobs, job, deps.baseUrl(), deps.requiresAccessToken);
    res.status(200);
    res.setHeader('Content-Type', 'application/json; charset=utf-8');
    res.setHeader('Expires', new Date((job.completedAt ?? new Date()).getTime() + RETENTION_MS).toUTCString());
    res.end(JSON.stringify(manifest));
  }));

  // Cancel: https://hl7.org/fhir/uv/bulkdata/export.html#bulk-data-delete-request
  app.delete(`${base}/:id`, handle(async (req, res) => {
    const id = jobId(req);
    if (!(await jobs.delete(id))) throw unknownJob(id);
    await deps.dispatcher.cancel(id);
    send(res, 202, outcome(issue('informational', `Export ${id} is cancelled and its files are deleted`, undefined, 'information')), {}, false);
  }));

  app.get(`${base}/:id/:file`, handle(async (req, res) => {
    const id = jobId(req);
    const job = await known(jobs, id);
    const m = /^(\d+)\.ndjson$/.exec(String(req.params.file));
    const file = m && job.status === 'completed' ? (await jobs.files(id)).find((f) => f.fileNo === Number(m[1])) : undefined;
    if (!file) throw notFound(`Export ${id} has no file ${String(req.params.file)}${job.status === 'completed' ? '' : ' (the export is not complete)'}`);
    res.status(200);
    res.setHeader('Content-Type', 'application/fhir+ndjson');
    // Chunk by chunk: a file of a large export is never held in memory whole.
    for (let next = 0; ; ) {
      const chunks = await jobs.chunks(id, file.fileNo, next, CHUNKS_PER_READ);
      for (const c of chunks) {
        if (!res.write(c.content)) await new Promise((resolve) => (res.once('drain', resolve), res.once('close', resolve)));
        if (res.destroyed) return; // the client went away
      }
      if (chunks.length < CHUNKS_PER_READ) break;
      next = chunks[chunks.length - 1].chunkNo + 1;
    }
    res.end();
  }));
}

/** The complete-status manifest: https://hl7.org/fhir/uv/bulkdata/export.html#response---complete-status */
async function completeManifest(jobs: ExportJobs, job: ExportJob, baseUrl: string, requiresAccessToken: boolean): Promise<Record<string, unknown>> {
  const files = await jobs.files(job.id);
  return {
    transactionTime: job.transactionTime.toISOString(),
    request: job.requestUrl,
    requiresAccessToken,
    output: files.map((f) => ({ type: f.resourceType, url: fileUrl(baseUrl, job.id, f.fileNo), count: f.count })),
    error: [],
  };
}

async function known(jobs: ExportJobs, id: string): Promise<ExportJob> {
  const job = await jobs.get(id);
  if (!job) throw unknownJob(id);
  return job;
}

/** The job id of the URL; one holding a control character (which PostgreSQL's text refuses) names no job. */
function jobId(req: Request): string {
  const id = String(req.params.id);
  if (hasControlCharacter(id)) throw unknownJob(id);
  return id;
}

const unknownJob = (id: string): FhirError => notFound(`No export job '${id}': it never existed, was cancelled, or has expired`);

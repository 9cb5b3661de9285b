import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import { seedNeighbourhood } from '../../server/seed.js';
import { InProcessDispatcher } from '../../server/export/in-process.js';
import { ExportJobs, type ExportRequest } from '../../server/export/jobs.js';
import { runExport } from '../../server/export/run.js';
import { statusUrl } from '../../server/export/urls.js';
import type { SearchEngine } from '../../server/search/search.js';
import { describeEachDatabase, type TestServer } from '../support/server.js';
import { ASYNC, countByType, poll, readOutput, type Manifest } from './support.js';

/** A stored job, as a kick-off would leave it, that the test then runs itself. */
async function storedJob(server: TestServer, request: Omit<ExportRequest, 'requestUrl' | 'outputFormat'>): Promise<string> {
  const id = randomUUID();
  await new ExportJobs(server.running.services.db).create(id, { ...request, outputFormat: 'application/fhir+ndjson', requestUrl: `${server.base}/$export` }, 'in-process');
  return id;
}

/** The engine with its search replaced (the rest, which uses `this`, reached through the prototype). */
function withSearch(engine: SearchEngine, search: SearchEngine['search']): SearchEngine {
  return Object.assign(Object.create(engine) as SearchEngine, { search });
}

const deps = (server: TestServer) => ({ sql: server.running.services.db, search: server.running.services.search, baseUrl: () => server.base });

// The job runner behind both the BullMQ worker and the in-process dispatcher.
describeEachDatabase('Bulk export runner', (server) => {
  before(async () => {
    await seedNeighbourhood(server().running.services.store);
  });

  it('a type larger than a file is split over several files, each written in several chunks, and served whole', async () => {
    const id = await storedJob(server(), { level: 'system', types: ['Condition', 'Patient'] });
    const outcome = await runExport({ ...deps(server()), limits: { chunkLines: 2, chunkBytes: 1 << 20, fileLines: 4 } }, id);
    expect(outcome).to.equal('completed');
    const done = await poll(server(), statusUrl(server().base, id));
    const manifest = done.body as Manifest;
    expect(manifest.output.map((f) => [f.type, f.count])).to.deep.equal([['Condition', 4], ['Condition', 4], ['Condition', 1], ['Patient', 3]]);
    const chunks = await server().running.services.db.query<{ n: number }>('SELECT count(*)::int AS n FROM export_chunk WHERE job_id = $1', [id]);
    expect(chunks[0].n).to.equal(7); // 2+2+1 for Condition files, 2 for Patient
    const resources = await readOutput(server(), manifest);
    expect(countByType(resources)).to.deep.equal({ Condition: 9, Patient: 3 });
    expect(new Set(resources.map((r) => r.id)).size).to.equal(12);
  });

  it('a retried attempt starts from scratch: output of an interrupted attempt is not duplicated', async () => {
    const id = await storedJob(server(), { level: 'patient', types: ['Condition'] });
    const jobs = new ExportJobs(server().running.services.db);
    // What a worker killed mid-export leaves behind: the job in progress with part of a file written.
    await jobs.begin(id);
    await jobs.appendChunk(id, { fileNo: 1, resourceType: 'Condition', count: 0 }, 0, '{"resourceType":"Condition","id":"half-written"}\n', 1);
    expect(await runExport(deps(server()), id)).to.equal('completed');
    const manifest = (await poll(server(), statusUrl(server().base, id))).body as Manifest;
    const resources = await readOutput(server(), manifest);
    expect(resources.map((r) => r.id)).not.to.include('half-written');
    expect(countByType(resources)).to.deep.equal({ Condition: 9 });
    expect((await jobs.get(id))!.attempts).to.equal(2);
  });

  it('a failed export answers the status poll with a 500 OperationOutcome that says why', async () => {
    const failing = withSearch(server().running.services.search, () => Promise.reject(new Error('search index unavailable')));
    const dispatcher = new InProcessDispatcher({ ...deps(server()), search: failing });
    const id = await storedJob(server(), { level: 'patient' });
    await dispatcher.dispatch(id);
    const res = await poll(server(), statusUrl(server().base, id));
    await dispatcher.stop();
    expect(res.status).to.equal(500);
    expect(res.body.resourceType).to.equal('OperationOutcome');
    expect(res.body.issue[0].diagnostics).to.contain('search index unavailable');
  });

  it('a job deleted while it runs stops and leaves no files', async () => {
    const id = await storedJob(server(), { level: 'patient' });
    const jobs = new ExportJobs(server().running.services.db);
    const slow = server().running.services.search;
    // Delete the job as soon as the first patient's compartment has been read: the next write hits the foreign key.
    const cancelling = withSearch(slow, async (...args) => {
      const page = await slow.search(...args);
      await jobs.delete(id);
      return page;
    });
    expect(await runExport({ ...deps(server()), search: cancelling, limits: { chunkLines: 1, chunkBytes: 1 << 20, fileLines: 100 } }, id)).to.equal('cancelled');
    const rows = await server().running.services.db.query('SELECT 1 FROM export_file WHERE job_id = $1', [id]);
    expect(rows).to.have.length(0);
  });

  it('a kick-off sweeps away exports finished more than a day ago, files and all', async () => {
    const id = await storedJob(server(), { level: 'system', types: ['Patient'] });
    await runExport(deps(server()), id);
    const db = server().running.services.db;
    await db.query(`UPDATE export_job SET completed_at = now() - interval '25 hours', updated_at = now() - interval '25 hours' WHERE id = $1`, [id]);
    expect((await server().fhir('GET', '$export?_type=Group', { headers: ASYNC })).status).to.equal(202);
    expect((await server().fetch(statusUrl(server().base, id))).status).to.equal(404);
    expect(await db.query('SELECT 1 FROM export_chunk WHERE job_id = $1', [id])).to.have.length(0);
  });
});

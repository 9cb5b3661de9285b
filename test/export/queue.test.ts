import { expect } from 'chai';
import { Queue } from 'bullmq';
import { seedNeighbourhood } from '../../server/seed.js';
import { EXPORT_QUEUE, exportJobId } from '../../workers/export-queue.js';
import { startExportWorker } from '../../workers/export.js';
import { connection } from '../../workers/queues.js';
import { startTestServer, DB_KINDS, type TestServer } from '../support/server.js';
import { testSubscriptionConfig } from '../subscriptions/support.js';
import { countByFile, countByType, kickOff, poll, readOutput, type Manifest } from './support.js';

/** A server on the test Redis; `runWorkers: false` is an API process whose jobs wait for a separate worker. */
async function redisServer(kind: (typeof DB_KINDS)[number], runWorkers: boolean): Promise<{ server: TestServer; queue: Queue }> {
  const subscriptions = testSubscriptionConfig({ runWorkers });
  const server = await startTestServer(kind, { subscriptions });
  await seedNeighbourhood(server.running.services.store);
  const queue = new Queue(EXPORT_QUEUE, { connection: connection(subscriptions.redisUrl!), prefix: subscriptions.queuePrefix });
  return { server, queue };
}

async function eventually(ok: () => Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await ok())) {
    if (Date.now() > until) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

const jobIdOf = (statusUrl: string): string => statusUrl.split('/').pop()!;

// With a Redis URL, $export runs as a BullMQ job on the "exports" queue (workers/export.ts), like the subscription workers.
for (const kind of DB_KINDS) {
  describe(`Bulk export on BullMQ [${kind}]`, function () {
    this.timeout(60_000);

    describe('workers inside the API process (npm start)', () => {
      let s: { server: TestServer; queue: Queue };
      before(async () => (s = await redisServer(kind, true)));
      after(async () => {
        await s?.queue.close();
        await s?.server.stop();
      });

      it('the export goes through the queue: its BullMQ job completes and the manifest follows', async () => {
        const statusUrl = await kickOff(s.server, 'Patient/$export?_type=Patient,Condition');
        const done = await poll(s.server, statusUrl);
        expect(done.status, done.text).to.equal(200);
        expect(countByFile((done.body as Manifest).output)).to.deep.equal({ Patient: 3, Condition: 9 });
        const job = await s.queue.getJob(exportJobId(jobIdOf(statusUrl)));
        expect(job, 'BullMQ job').to.not.equal(undefined);
        // The manifest is ready when the export commits; BullMQ records the job's completion just after.
        await eventually(async () => (await job!.getState()) === 'completed');
        expect((await s.queue.getJob(job!.id!))!.returnvalue).to.equal('completed');
        const rows = await s.server.running.services.db.query<{ runner: string; attempts: number }>('SELECT runner, attempts FROM export_job WHERE id = $1', [jobIdOf(statusUrl)]);
        expect(rows[0]).to.deep.equal({ runner: 'queue', attempts: 1 });
      });
    });

    describe('API process without workers (RUN_WORKERS=false) and a separate worker (npm run worker)', () => {
      let s: { server: TestServer; queue: Queue };
      before(async () => (s = await redisServer(kind, false)));
      after(async () => {
        await s?.queue.close();
        await s?.server.stop();
      });

      it('while no worker has taken the job, the status is 202 with X-Progress and Retry-After, and the job waits in Redis', async () => {
        const statusUrl = await kickOff(s.server, '$export?_type=Patient');
        for (let i = 0; i < 3; i++) {
          const res = await s.server.fetch(statusUrl);
          expect(res.status).to.equal(202);
          expect(res.headers.get('x-progress')).to.equal('accepted');
          expect(Number(res.headers.get('retry-after'))).to.be.greaterThan(0);
          await new Promise((r) => setTimeout(r, 100));
        }
        expect(await (await s.queue.getJob(exportJobId(jobIdOf(statusUrl))))!.getState()).to.equal('waiting');
      });

      it('cancelling a queued export removes its BullMQ job', async () => {
        const statusUrl = await kickOff(s.server, '$export?_type=Condition');
        expect(await s.queue.getJob(exportJobId(jobIdOf(statusUrl)))).to.not.equal(undefined);
        expect((await s.server.fetch(statusUrl, { method: 'DELETE' })).status).to.equal(202);
        expect(await s.queue.getJob(exportJobId(jobIdOf(statusUrl)))).to.equal(undefined);
        expect((await s.server.fetch(statusUrl)).status).to.equal(404);
      });

      it('a separate export worker takes the waiting jobs off the queue and completes them', async () => {
        const statusUrl = await kickOff(s.server, 'Patient/$export?_type=CareTeam');
        const services = s.server.running.services;
        const subscriptions = services.config.subscriptions;
        const worker = startExportWorker({
          db: services.db,
          search: services.search,
          redisUrl: subscriptions.redisUrl!,
          queuePrefix: subscriptions.queuePrefix,
          baseUrl: () => services.config.baseUrl,
          stalledIntervalMs: 1000,
        });
        const completed: string[] = [];
        worker.worker.on('completed', (job) => completed.push(job.id!));
        try {
          const done = await poll(s.server, statusUrl);
          expect(done.status, done.text).to.equal(200);
          expect(countByType(await readOutput(s.server, done.body as Manifest))).to.deep.equal({ CareTeam: 3 });
          await eventually(async () => completed.includes(exportJobId(jobIdOf(statusUrl))));
        } finally {
          await worker.stop();
        }
      });
    });
  });
}

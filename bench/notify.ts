import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { Client as PgClient } from 'pg';
import { startDisposableRedis } from '../scripts/disposable-redis.js';
import { startPrivatePostgres } from '../scripts/private-postgres.js';
import { busyShare, cpuSeconds, machineCpuTicks, postgresCpuSeconds, SERVER_NODE_FLAGS, startChild } from './support.js';

/**
 * Notification scenario: 1,000 active subscriptions (half R4 criteria with the resource as payload,
 * half Backport topic id-only), 100 patients, so each Appointment write matches 10 subscriptions.
 * Writes at a steady rate; receivers on loopback record arrival. Latency runs from the written
 * version's meta.lastUpdated (stamped inside the write transaction, before commit) to receipt.
 * The measured writes follow `warmup` seconds of the same load (default 5), whose notifications
 * are awaited and reported apart: a server just started runs its first seconds of this load
 * unoptimised and on new database sessions (BENCHMARKS.md, session 9), which is its start, not
 * its steady state. `--warmup=0` measures from the first write.
 */
export async function runNotifyBenchmark(
  options: { subscriptions?: number; patients?: number; writesPerSecond?: number; seconds?: number; warmup?: number; trace?: string; profile?: boolean; split?: boolean } = {},
): Promise<void> {
  const subscriptions = options.subscriptions ?? 1000;
  const patients = options.patients ?? 100;
  const rate = options.writesPerSecond ?? 200;
  const seconds = options.seconds ?? 20;
  const warmupSeconds = options.warmup ?? 5;
  const pg = await startPrivatePostgres();
  const redis = await startDisposableRedis();
  const receivers: Server[] = [];
  let traceReport: (() => Promise<void>) | undefined;
  const written = new Map<string, number>(); // resource id -> lastUpdated ms
  const latencies: number[] = [];
  // Receipts of writes whose answer has not come back yet (a notification can beat it): id -> receipt times.
  const early = new Map<string, number[]>();
  let warmingUp = true;
  const warmupLatencies: number[] = [];
  let warmupReceived = 0;
  // Latencies by when their write committed, in windows of WINDOW_MS from the first write: where in the run a stall was.
  const WINDOW_MS = 2000;
  const byWindow: number[][] = [];
  let writesStarted = 0;
  /** A notification of the write committed at `at`, received at `now`: the warm-up's or the measured run's. */
  const receipt = (at: number, now: number): void => {
    if (warmingUp) warmupLatencies.push(now - at);
    else {
      latencies.push(now - at);
      (byWindow[Math.max(0, Math.floor((at - writesStarted) / WINDOW_MS))] ??= []).push(now - at);
    }
  };
  let received = 0;
  let duplicates = 0;
  const seen = new Map<string, number>(); // X-Notification-Id (the same on every attempt of one notification) -> first receipt
  const repeated: string[] = [];
  let failedWrites = 0;
  const writeErrors = new Map<string, number>(); // why writes failed: a loaded machine times out or refuses them
  let lastReceipt = 0;
  const receiverUrls: string[] = [];
  for (let i = 0; i < 10; i++) {
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        res.writeHead(200).end();
        const now = Date.now();
        const body = Buffer.concat(chunks).toString();
        if (!body) return;
        const json = JSON.parse(body);
        const id: string | undefined = json.resourceType === 'Appointment' ? json.id : json.entry?.[1]?.fullUrl?.split('/').pop();
        if (!id) return; // handshake
        const notificationId = String(req.headers['x-notification-id']);
        if (seen.has(notificationId)) {
          duplicates++;
          if (repeated.length < 5) repeated.push(notificationId);
          return;
        }
        seen.set(notificationId, now);
        if (warmingUp) warmupReceived++;
        else {
          received++;
          lastReceipt = now;
        }
        const at = written.get(id);
        if (at) receipt(at, now);
        else early.set(id, [...(early.get(id) ?? []), now]);
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    receivers.push(server);
    receiverUrls.push(`http://127.0.0.1:${(server.address() as { port: number }).port}/hook`);
  }
  // --trace=DIR: a CPU profile of the server child, its SQL statements by text (bench/notify-trace.cjs),
  // and Redis commands (INFO commandstats) over the write phase, to see where a notification's time goes.
  const trace = options.trace ? path.resolve(options.trace) : undefined;
  if (trace) mkdirSync(trace, { recursive: true }); // the server child writes its stage log there
  const traceEnv: Record<string, string> = trace
    ? { NODE_OPTIONS: `--require ${path.join(__dirname, 'notify-trace.cjs')}`, NOTIFY_TRACE_DIR: trace, NOTIFY_TRACE_PROFILE: options.profile === false ? '0' : '1' }
    : {};
  const redisStats = new Redis(redis.url);
  const commandStats = async (): Promise<Map<string, number>> => {
    const info = await redisStats.info('commandstats');
    return new Map([...info.matchAll(/cmdstat_(\w+[|\w]*):calls=(\d+)/g)].map((m) => [m[1], Number(m[2])]));
  };
  const api = await startChild(
    'server/main.ts',
    {
      ...traceEnv,
      DATABASE_URL: pg.url,
      REDIS_URL: redis.url,
      SUBSCRIPTION_ENDPOINT_ALLOW: '127.0.0.1',
      SUBSCRIPTION_DELIVERY_CONCURRENCY: '100',
      DB_POOL_SIZE: '40',
      LOG_LEVEL: 'warn',
      ...(options.split ? { RUN_WORKERS: 'false' } : {}),
    },
    '/fhir/metadata',
  );
  process.once('exit', () => api.process.kill('SIGKILL'));
  // --split: the API with RUN_WORKERS=false and one `npm run worker` process, as a 2-vCPU machine would run it.
  const worker = options.split
    ? spawn(process.execPath, [...SERVER_NODE_FLAGS, '--import', 'tsx', path.join(__dirname, '..', 'workers', 'main.ts')], {
        env: { ...process.env, DATABASE_URL: pg.url, REDIS_URL: redis.url, SUBSCRIPTION_ENDPOINT_ALLOW: '127.0.0.1', DB_POOL_SIZE: '20', LOG_LEVEL: 'warn', BASE_URL: 'http://127.0.0.1/fhir' },
        stdio: 'ignore',
      })
    : undefined;
  if (worker) process.once('exit', () => worker.kill('SIGKILL'));
  const base = `${api.url}/fhir`;
  const post = async (path: string, body: unknown): Promise<any> => {
    const res = await fetch(`${base}/${path}`, { method: 'POST', headers: { 'content-type': 'application/fhir+json' }, body: JSON.stringify(body) });
    if (res.status !== 201) throw new Error(`${path}: ${res.status} ${await res.text()}`);
    return res.json();
  };
  try {
    for (let i = 0; i < subscriptions; i++) {
      const patient = `Patient/bench-${i % patients}`;
      const endpoint = receiverUrls[i % receiverUrls.length];
      const sub =
        i % 2 === 0
          ? { resourceType: 'Subscription', status: 'requested', reason: 'bench', criteria: `Appointment?patient=${patient}`, channel: { type: 'rest-hook', endpoint, payload: 'application/fhir+json' } }
          : {
              resourceType: 'Subscription',
              status: 'requested',
              reason: 'bench',
              criteria: 'http://neighbourhood-hub.example/fhir/SubscriptionTopic/appointment-booked-changed-cancelled',
              _criteria: { extension: [{ url: 'http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-filter-criteria', valueString: `Appointment?patient=${patient}` }] },
              channel: {
                type: 'rest-hook',
                endpoint,
                payload: 'application/fhir+json',
                _payload: { extension: [{ url: 'http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-payload-content', valueCode: 'id-only' }] },
              },
            };
      await post('Subscription', sub);
    }
    // Wait for every subscription to be active (handshakes done).
    for (;;) {
      const res = await fetch(`${base}/Subscription?status=active&_summary=count`);
      const total = ((await res.json()) as { total?: number }).total ?? 0;
      if (total >= subscriptions) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    // Writes Appointments at the rate for the seconds given, each written one's commit time kept by id.
    const writePhase = async (phaseSeconds: number, started: number): Promise<void> => {
      const inflight: Promise<void>[] = [];
      for (let n = 0; n < rate * phaseSeconds; n++) {
        const due = started + (n * 1000) / rate;
        const wait = due - Date.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        const patient = `Patient/bench-${n % patients}`;
        inflight.push(
          post('Appointment', {
            resourceType: 'Appointment',
            // Each patient gets the same time again and again: intended here (the hub refuses double bookings otherwise).
            extension: [{ url: 'https://fhir.neighbourhood-hub.example/StructureDefinition/overlap-intended', valueBoolean: true }],
            status: 'booked',
            start: '2030-01-01T09:00:00Z',
            end: '2030-01-01T09:15:00Z',
            participant: [{ actor: { reference: patient }, status: 'accepted' }],
          }).then(
            (a) => {
              const at = Date.parse(a.meta.lastUpdated);
              written.set(a.id, at);
              for (const now of early.get(a.id) ?? []) receipt(at, now);
              early.delete(a.id);
            },
            (err: Error) => {
              failedWrites++;
              const reason = err.message.slice(0, 120);
              writeErrors.set(reason, (writeErrors.get(reason) ?? 0) + 1);
            },
          ),
        );
      }
      await Promise.all(inflight);
    };
    // The warm-up: the same load, its notifications awaited before the measured writes start.
    if (warmupSeconds > 0) {
      await writePhase(warmupSeconds, Date.now());
      const warmupExpected = (rate * warmupSeconds - failedWrites) * (subscriptions / patients);
      const until = Date.now() + 60_000;
      while (warmupReceived < warmupExpected && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
    }
    const warmupFailed = failedWrites;
    failedWrites = 0;
    warmingUp = false;
    const writes = rate * seconds;
    const statsBefore = await commandStats();
    // PostgreSQL sessions the server opens while writing: each is a new backend with cold caches (its pool grows, or reconnects after idling).
    const stats = new PgClient(pg.url);
    await stats.connect();
    const sessions = async (): Promise<number> => Number((await stats.query('SELECT sessions FROM pg_stat_database WHERE datname = current_database()')).rows[0].sessions);
    const sessionsBefore = await sessions();
    if (trace) api.process.kill('SIGUSR2'); // profile and count from here on
    const cpuAtStart = machineCpuTicks();
    // CPU time, unlike latency, compares across runs on a machine shared with other work.
    const serverCpu = (): number => cpuSeconds(api.process.pid!) + (worker ? cpuSeconds(worker.pid!) : 0);
    const cpuSecondsAtStart = { server: serverCpu(), postgres: postgresCpuSeconds(pg.url), bench: process.cpuUsage() };
    const started = Date.now();
    writesStarted = started;
    await writePhase(seconds, started);
    const writeSeconds = (Date.now() - started) / 1000;
    const cpuWhileWriting = busyShare(cpuAtStart, machineCpuTicks());
    const serverWhileWriting = (serverCpu() - cpuSecondsAtStart.server) / writeSeconds; // in vCPUs: near 1 for one process means its JavaScript thread is the floor
    const expected = (writes - failedWrites) * (subscriptions / patients);
    const until = Date.now() + 60_000;
    while (received < expected && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
    const benchCpu = process.cpuUsage(cpuSecondsAtStart.bench);
    const cpuSecondsUsed = {
      server: serverCpu() - cpuSecondsAtStart.server,
      postgres: postgresCpuSeconds(pg.url) - cpuSecondsAtStart.postgres,
      bench: (benchCpu.user + benchCpu.system) / 1e6, // the writer and the receivers: on the same 2 vCPUs
    };
    await new Promise((r) => setTimeout(r, 1000)); // late repeats still count as duplicates
    const statsAfter = await commandStats();
    const sessionsOpened = (await sessions()) - sessionsBefore;
    await stats.end();
    latencies.sort((a, b) => a - b);
    const pct = (p: number): number => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))] ?? NaN;
    const span = (lastReceipt - started) / 1000;
    console.log(`\n## Notifications (${os.cpus().length} vCPU; ${options.split ? 'API and one worker process' : 'API + workers in one process'}, PostgreSQL and Redis local)\n`);
    console.log('| subscriptions | writes/s offered | writes/s achieved | failed writes | notifications expected | received (distinct) | duplicates | commit→receipt p50 | p99 | notifications/s |');
    console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |');
    console.log(
      `| ${subscriptions} | ${rate} | ${(writes / writeSeconds).toFixed(0)} | ${failedWrites} | ${expected} | ${received} | ${duplicates} | ${pct(50)} ms | ${pct(99)} ms | ${(received / span).toFixed(0)} |`,
    );
    const p99 = (v: number[]): number => [...v].sort((a, b) => a - b)[Math.min(v.length - 1, Math.floor(0.99 * v.length))];
    console.log(`\np99 by when the write committed, per ${WINDOW_MS / 1000} s from the first write: ${byWindow.map((v, i) => `${(i * WINDOW_MS) / 1000}s ${v?.length ? p99(v) : '-'}`).join(', ')} ms`);
    // The server's start, apart: the warm-up's writes were its first of this load.
    if (warmupSeconds > 0) {
      const sorted = [...warmupLatencies].sort((a, b) => a - b);
      console.log(
        `Warm-up before the measured writes (${warmupSeconds} s at the same rate, not in the table): ${warmupReceived} notifications received, ${warmupFailed} failed writes; commit→receipt p50 ${sorted[Math.floor(sorted.length / 2)] ?? NaN} ms, p99 ${sorted.length ? p99(sorted) : NaN} ms`,
      );
    }
    // The whole machine (API, workers, PostgreSQL, Redis, the receivers and this writer): near 100% means the CPUs are the floor.
    console.log(`\nMachine CPU busy while writing: ${Math.round(100 * cpuWhileWriting)}% of ${os.cpus().length} vCPUs (the server's process${worker ? 'es' : ''}: ${Math.round(100 * serverWhileWriting)}% of one)`);
    const perWrite = (seconds: number): string => ((1000 * seconds) / Math.max(1, writes - failedWrites)).toFixed(2);
    console.log(`CPU per write, from the first write to the last notification: server ${perWrite(cpuSecondsUsed.server)} ms, PostgreSQL ${perWrite(cpuSecondsUsed.postgres)} ms, this benchmark's writer and receivers ${perWrite(cpuSecondsUsed.bench)} ms`);
    console.log(`PostgreSQL sessions opened from the first write on: ${sessionsOpened}`);
    if (writeErrors.size) console.log(`\nFailed writes: ${[...writeErrors].map(([reason, n]) => `${n} × ${reason}`).join('; ')}`);
    const redisCalls = [...statsAfter].map(([cmd, n]) => [cmd, n - (statsBefore.get(cmd) ?? 0)] as const).filter(([, n]) => n > 0);
    const perNotification = (n: number): string => (received ? (n / received).toFixed(2) : '-');
    console.log(`\nRedis commands per notification: ${perNotification(redisCalls.reduce((a, [, n]) => a + n, 0))} (${redisCalls.map(([c, n]) => `${c} ${perNotification(n)}`).join(', ')})`);
    if (trace) {
      traceReport = async () => {
        printSql(trace, received, writes - failedWrites, options.profile !== false);
        await printStages(trace, pg.url, seen, WINDOW_MS);
      };
    }
    // Failed attempts explain repeats: a notification that failed (or seemed to) is sent again.
    const db = new PgClient(pg.url);
    await db.connect();
    const failed = await db.query("SELECT coalesce(error, 'HTTP ' || http_status) AS reason, count(*)::int AS n FROM subscription_delivery WHERE NOT ok GROUP BY 1 ORDER BY 2 DESC LIMIT 5");
    for (const id of repeated) {
      const attempts = await db.query('SELECT attempted_at, ok, http_status, error, duration_ms FROM subscription_delivery WHERE notification_id = $1 ORDER BY id', [id]);
      console.log(`repeated ${id}: ${JSON.stringify(attempts.rows)}`);
    }
    await db.end();
    // Delivery jobs that needed more than one attempt: a failed batch job is re-run by BullMQ.
    const deliveries = new Queue('deliveries', { connection: { host: '127.0.0.1', port: redis.port }, prefix: 'hub' });
    const retried = (await deliveries.getJobs(['completed', 'failed'], 0, 50_000)).filter((j) => j.attemptsMade > 1 || j.stacktrace?.length);
    console.log(`Delivery jobs run more than once: ${retried.length}${retried[0] ? ` (e.g. ${retried[0].name}: ${retried[0].stacktrace?.[0]?.split('\n').slice(0, 3).join(' / ')})` : ''}`);
    await deliveries.close();
    console.log(`Failed delivery attempts: ${failed.rows.map((r) => `${r.n} × ${r.reason}`).join('; ') || 'none'}`);
  } finally {
    redisStats.disconnect();
    worker?.kill('SIGTERM');
    await api.stop();
    await traceReport?.();
    for (const r of receivers) r.close();
    redis.stop();
    pg.stop();
  }
}

/** SQL statements the server sent from the first write on, per write and per notification. */
function printSql(dir: string, notifications: number, writes: number, profiled: boolean): void {
  const rows = JSON.parse(readFileSync(path.join(dir, 'sql.json'), 'utf8')) as { n: number; sql: string }[];
  const total = rows.reduce((a, r) => a + r.n, 0);
  console.log(`\nSQL statements from the first write on: ${total} (${(total / writes).toFixed(1)} per write, ${(total / Math.max(1, notifications)).toFixed(2)} per notification)`);
  for (const r of rows.slice(0, 25)) console.log(`${String(r.n).padStart(8)}  ${r.sql}`);
  if (profiled) console.log(`CPU profile: ${readdirSync(dir).filter((f) => f.endsWith('.cpuprofile')).map((f) => path.join(dir, f)).join(', ')}`);
}

type StageRecord = { stage: 'relayed'; at: number; seqs: number[] } | { stage: string; added: number; start: number; end: number; seqs: number[] };

/**
 * Where each notification's time went, stage by stage (the server's stage log, bench/notify-trace.cjs,
 * joined with the change log, the events and the attempt log): commit, relay, match job, the batch
 * reaching the deliverer, the request's start, its receipt. Each stage's percentiles are its own, so
 * they do not add up; the means do.
 */
async function printStages(dir: string, databaseUrl: string, receipts: Map<string, number>, windowMs: number): Promise<void> {
  const records = JSON.parse(readFileSync(path.join(dir, 'stages.json'), 'utf8')) as StageRecord[];
  const bySeq = new Map<number, Record<string, number>>();
  const at = (seq: number): Record<string, number> => bySeq.get(seq) ?? (bySeq.set(seq, {}).get(seq) as Record<string, number>);
  for (const r of records) {
    for (const seq of r.seqs) {
      const t = at(seq);
      if ('at' in r) t.relayed ??= r.at;
      else {
        // deliveries:batch is a delivery job, or the matcher's hand-over to its own deliverer.
        const stage = r.stage.startsWith('changes') ? 'match' : r.stage === 'deliveries:batch' ? 'deliver' : undefined;
        if (!stage || t[`${stage}Start`]) continue;
        Object.assign(t, { [`${stage}Added`]: r.added, [`${stage}Start`]: r.start, [`${stage}End`]: r.end });
      }
    }
  }
  const db = new PgClient(databaseUrl);
  await db.connect();
  const { rows } = await db.query<{ notification_id: string; sent: Date; change_seq: string; changed_at: Date }>(
    `SELECT d.notification_id, min(d.attempted_at) AS sent, e.change_seq, c.changed_at
     FROM subscription_delivery d JOIN subscription_event e ON e.subscription_id = d.subscription_id AND e.event_number = d.first_event
     JOIN change_log c ON c.seq = e.change_seq WHERE d.kind = 'event-notification' GROUP BY 1, 3, 4`,
  );
  await db.end();
  const spans: [string, string, string][] = [
    ['commit → relay has queued the change', 'commit', 'relayed'],
    ['relay → match job starts', 'relayed', 'matchStart'],
    ['match job starts → the deliverer has the batch (match, number, hand over or queue)', 'matchStart', 'deliverStart'],
    ['deliverer takes the batch (leases, payloads, into lanes)', 'deliverStart', 'deliverEnd'],
    ['batch in its lane → request starts (earlier ones of the lane, access check, build)', 'deliverEnd', 'sent'],
    ['request → receipt', 'sent', 'receipt'],
    ['commit → receipt', 'commit', 'receipt'],
  ];
  const values = spans.map(() => [] as number[]);
  // The same spans by when the write committed, per WINDOW_MS: which stage a cold start or a stall is in.
  const windows = new Map<number, number[][]>();
  const firstCommit = Math.min(...rows.map((r) => new Date(r.changed_at).getTime()));
  for (const r of rows) {
    const receipt = receipts.get(r.notification_id);
    const t = bySeq.get(Number(r.change_seq));
    if (!receipt || !t?.relayed || !t.matchStart || !t.deliverStart) continue; // not in the traced write phase
    const times: Record<string, number> = { ...t, commit: new Date(r.changed_at).getTime(), sent: new Date(r.sent).getTime(), receipt };
    const window = Math.floor((times.commit - firstCommit) / windowMs);
    const inWindow = windows.get(window) ?? (windows.set(window, spans.map(() => [])).get(window) as number[][]);
    spans.forEach(([, from, to], i) => {
      values[i].push(times[to] - times[from]);
      inWindow[i].push(times[to] - times[from]);
    });
  }
  const pct = (v: number[], p: number): number => v[Math.min(v.length - 1, Math.floor((p / 100) * v.length))];
  console.log(`\nWhere the time goes, per notification (${values[0].length} traced), ms:\n`);
  console.log('| stage | mean | p50 | p90 | p99 |');
  console.log('| --- | ---: | ---: | ---: | ---: |');
  spans.forEach(([name], i) => {
    const v = values[i].sort((a, b) => a - b);
    const mean = v.reduce((a, b) => a + b, 0) / Math.max(1, v.length);
    console.log(`| ${name} | ${mean.toFixed(1)} | ${pct(v, 50)} | ${pct(v, 90)} | ${pct(v, 99)} |`);
  });
  console.log(`\nMean of each stage by when the write committed, per ${windowMs / 1000} s, ms:\n`);
  console.log(`| from | ${spans.map(([, from, to]) => `${from} → ${to}`).join(' | ')} |`);
  console.log(`| --- | ${spans.map(() => '---:').join(' | ')} |`);
  for (const [window, spansOf] of [...windows].sort((a, b) => a[0] - b[0])) {
    console.log(`| ${(window * windowMs) / 1000}s | ${spansOf.map((v) => (v.reduce((a, b) => a + b, 0) / Math.max(1, v.length)).toFixed(1)).join(' | ')} |`);
  }
}

if (require.main === module) {
  const arg = (name: string): number | undefined => {
    const a = process.argv.find((x) => x.startsWith(`--${name}=`));
    return a ? Number(a.split('=')[1]) : undefined;
  };
  const trace = process.argv.find((x) => x.startsWith('--trace='))?.split('=')[1];
  runNotifyBenchmark({ subscriptions: arg('subscriptions'), writesPerSecond: arg('rate'), seconds: arg('seconds'), warmup: arg('warmup'), trace, profile: !process.argv.includes('--no-profile'), split: process.argv.includes('--split') }).catch((err) => {
    console.error(err);
    process.exit(1);
  });
}

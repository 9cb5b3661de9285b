// Preloaded into the server child by `bench/notify.ts --trace=DIR` (node --require; --cpu-prof is
// not allowed in NODE_OPTIONS): a CPU profile through the in-process inspector (unless
// NOTIFY_TRACE_PROFILE=0: the profiler slows the server several times over), a count of the SQL
// statements every pg client sends, by statement text, and the stage times of every change (relay,
// match job, delivery job); all written to DIR at exit, covering what happened after the last SIGUSR2.
// Plain CommonJS so it loads before tsx and patches the one `pg` and `bullmq` the server requires.
const { writeFileSync } = require('node:fs');
const path = require('node:path');
const inspector = require('node:inspector');
const pg = require('pg');
const { Queue, Worker } = require('bullmq');

const dir = process.env.NOTIFY_TRACE_DIR;
const profile = process.env.NOTIFY_TRACE_PROFILE !== '0';
const counts = new Map();
// Stage times: [stage, ms, seqs]; the relay's add of each batch it queued, and each job's wait and run.
let stages = [];
const original = pg.Client.prototype.query;
pg.Client.prototype.query = function (config, ...rest) {
  const text = typeof config === 'string' ? config : config && config.text;
  if (text) {
    const key = text.replace(/\s+/g, ' ').trim().slice(0, 140);
    counts.set(key, (counts.get(key) || 0) + 1);
  }
  return original.call(this, config, ...rest);
};

// The relay has queued a batch of changes once its add to the `changes` queue is answered.
const add = Queue.prototype.add;
Queue.prototype.add = async function (name, data, ...rest) {
  const job = await add.call(this, name, data, ...rest);
  if (name === 'changes' && data && data.changes) stages.push({ stage: 'relayed', at: Date.now(), seqs: data.changes.map((c) => c.seq) });
  return job;
};

const callProcessJob = Worker.prototype.callProcessJob;
Worker.prototype.callProcessJob = async function (job, ...rest) {
  const start = Date.now();
  try {
    return await callProcessJob.call(this, job, ...rest);
  } finally {
    const changes = job.data && job.data.changes;
    if (changes) stages.push({ stage: `${this.name}:${job.name}`, added: job.timestamp, start, end: Date.now(), seqs: changes.map((c) => c.seq) });
  }
};

// A batch the matcher hands to its own process's deliverer, timed like a delivery job. The module is
// compiled by tsx after this file runs: patched when the writes start (SIGUSR2), from the module cache.
function traceDeliverBatch() {
  const mod = Object.values(require.cache).find((m) => m && m.filename && m.filename.endsWith(path.join('workers', 'deliver.ts')));
  const proto = mod && mod.exports.Deliverer && mod.exports.Deliverer.prototype;
  if (!proto || !proto.deliverBatch || proto.deliverBatch.traced) return;
  const deliverBatch = proto.deliverBatch;
  proto.deliverBatch = async function (batch, ...rest) {
    const start = Date.now();
    try {
      return await deliverBatch.call(this, batch, ...rest);
    } finally {
      stages.push({ stage: 'deliveries:batch', added: start, start, end: Date.now(), seqs: batch.changes.map((c) => c.seq) });
    }
  };
  proto.deliverBatch.traced = true;
}

const session = new inspector.Session();
session.connect();
if (profile) {
  session.post('Profiler.enable');
  session.post('Profiler.setSamplingInterval', { interval: 1000 });
  session.post('Profiler.start');
}

// The benchmark sends SIGUSR2 when its writes start: profile and count the write phase only.
process.on('SIGUSR2', () => {
  traceDeliverBatch();
  counts.clear();
  stages = [];
  if (profile) session.post('Profiler.stop', () => session.post('Profiler.start'));
});

process.on('exit', () => {
  if (!dir) return;
  const rows = [...counts].sort((a, b) => b[1] - a[1]).map(([sql, n]) => ({ n, sql }));
  writeFileSync(path.join(dir, 'sql.json'), JSON.stringify(rows, null, 1));
  writeFileSync(path.join(dir, 'stages.json'), JSON.stringify(stages));
  if (!profile) return;
  // Same-thread inspector sessions answer synchronously, so this completes inside the exit handler.
  session.post('Profiler.stop', (err, result) => {
    if (!err) writeFileSync(path.join(dir, 'server.cpuprofile'), JSON.stringify(result.profile));
  });
});

// Preloaded into the server child by `bench/notify.ts --trace=DIR` (node --require; --cpu-prof is
// not allowed in NODE_OPTIONS): a CPU profile through the in-process inspector, and a count of the
// SQL statements every pg client sends, by statement text; both written to DIR at exit, covering
// what happened after the last SIGUSR2.
// Plain CommonJS so it loads before tsx and patches the one `pg` the server requires.
const { writeFileSync } = require('node:fs');
const path = require('node:path');
const inspector = require('node:inspector');
const pg = require('pg');

const dir = process.env.NOTIFY_TRACE_DIR;
const counts = new Map();
const original = pg.Client.prototype.query;
pg.Client.prototype.query = function (config, ...rest) {
  const text = typeof config === 'string' ? config : config && config.text;
  if (text) {
    const key = text.replace(/\s+/g, ' ').trim().slice(0, 140);
    counts.set(key, (counts.get(key) || 0) + 1);
  }
  return original.call(this, config, ...rest);
};

const session = new inspector.Session();
session.connect();
session.post('Profiler.enable');
session.post('Profiler.setSamplingInterval', { interval: 1000 });
session.post('Profiler.start');

// The benchmark sends SIGUSR2 when its writes start: profile and count the write phase only.
process.on('SIGUSR2', () => {
  counts.clear();
  session.post('Profiler.stop', () => session.post('Profiler.start'));
});

process.on('exit', () => {
  if (!dir) return;
  const rows = [...counts].sort((a, b) => b[1] - a[1]).map(([sql, n]) => ({ n, sql }));
  writeFileSync(path.join(dir, 'sql.json'), JSON.stringify(rows, null, 1));
  // Same-thread inspector sessions answer synchronously, so this completes inside the exit handler.
  session.post('Profiler.stop', (err, result) => {
    if (!err) writeFileSync(path.join(dir, 'server.cpuprofile'), JSON.stringify(result.profile));
  });
});

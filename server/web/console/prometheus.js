// Reads the Prometheus text format of /metrics and keeps an hour of samples in memory, so the
// overview can chart rates (deltas of counters) and levels (gauges) without any other store.

/** [{ name, labels, value }] of one scrape (comments and histograms' _bucket lines skipped). */
export function parseMetrics(text) {
  const out = [];
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!m || m[1].endsWith('_bucket')) continue;
    const labels = {};
    for (const l of (m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]] = l[2];
    out.push({ name: m[1], labels, value: Number(m[3]) });
  }
  return out;
}

const sum = (metrics, name, where = () => true) => metrics.filter((m) => m.name === name && where(m.labels)).reduce((a, m) => a + m.value, 0);

/** The figures one scrape gives the overview. */
export function summarise(metrics) {
  const requests = 'fhir_http_request_duration_seconds_count';
  return {
    requests: sum(metrics, requests),
    clientErrors: sum(metrics, requests, (l) => l.status?.startsWith('4')),
    serverErrors: sum(metrics, requests, (l) => l.status?.startsWith('5')),
    outboxLag: sum(metrics, 'outbox_unrelayed_changes'),
    queued: sum(metrics, 'bullmq_queue_jobs', (l) => ['waiting', 'delayed', 'prioritized'].includes(l.state)),
    deliveries: sum(metrics, 'subscription_delivery_latency_seconds_count'),
    deliverySeconds: sum(metrics, 'subscription_delivery_latency_seconds_sum'),
    failedDeliveries: sum(metrics, 'subscription_failed_deliveries'),
    startedAt: sum(metrics, 'process_start_time_seconds'),
    memory: sum(metrics, 'process_resident_memory_bytes'),
    pool: Object.fromEntries(metrics.filter((m) => m.name === 'db_pool_connections').map((m) => [m.labels.state, m.value])),
  };
}

const HOUR_MS = 3_600_000;

/** Samples over time; points are per-second rates between scrapes, or levels. */
export class Samples {
  constructor() {
    this.list = [];
  }

  add(at, summary) {
    this.list.push({ at, ...summary });
    while (this.list.length && this.list[0].at < at - HOUR_MS) this.list.shift();
  }

  get latest() {
    return this.list[this.list.length - 1];
  }

  /** x (seconds) and y arrays: the rate of a counter between consecutive samples. */
  rate(key) {
    const x = [];
    const y = [];
    for (let i = 1; i < this.list.length; i++) {
      const a = this.list[i - 1];
      const b = this.list[i];
      x.push(b.at / 1000);
      y.push(Math.max(0, (b[key] - a[key]) / ((b.at - a.at) / 1000)));
    }
    return [x, y];
  }

  level(key) {
    return [this.list.map((s) => s.at / 1000), this.list.map((s) => s[key])];
  }

  /** Mean delivery latency (ms) of the deliveries between samples; null where there were none. */
  latencyMs() {
    const x = [];
    const y = [];
    for (let i = 1; i < this.list.length; i++) {
      const a = this.list[i - 1];
      const b = this.list[i];
      const n = b.deliveries - a.deliveries;
      x.push(b.at / 1000);
      y.push(n > 0 ? ((b.deliverySeconds - a.deliverySeconds) / n) * 1000 : null);
    }
    return [x, y];
  }
}

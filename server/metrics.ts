import client from 'prom-client';

/**
 * Prometheus metrics of this process (prom-client). Other parts add their own gauges through
 * `metrics.register` (queue depths, delivery latency) so there is one registry per process.
 */
export const registry = new client.Registry();
// The event-loop delay is sampled every 100 ms: each sample wakes the process, and at 20 ms those
// wake-ups were a third of an idle server's. A stall of 100 ms or more is caught whatever its timing.
client.collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: 100 });

export const httpDuration = new client.Histogram({
  name: 'fhir_http_request_duration_seconds',
  help: 'FHIR requests by interaction, resource type and status',
  labelNames: ['interaction', 'resource_type', 'status'] as const,
  buckets: [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
  registers: [registry],
});

/**
 * A gauge whose value is read when Prometheus scrapes (pool usage, outbox lag). Registering a name
 * again replaces the old collector (tests open several servers in one process).
 */
export function scrapeGauge(name: string, help: string, labelNames: string[], collect: (set: (labels: Record<string, string>, value: number) => void) => Promise<void> | void): void {
  registry.removeSingleMetric(name);
  new client.Gauge({
    name,
    help,
    labelNames,
    registers: [registry],
    async collect() {
      // A source that cannot answer (database or Redis down) leaves its gauge empty; the rest of the scrape still works.
      await Promise.resolve(collect((labels, value) => this.set(labels, value))).catch(() => undefined);
    },
  });
}

/** The FHIR interaction a request is, from method and path alone (https://hl7.org/fhir/R4/http.html#summary). */
export function interactionOf(method: string, path: string): { interaction: string; resourceType: string } {
  const seg = path.split('/').filter(Boolean);
  const op = seg.find((s) => s.startsWith('$'));
  const type = seg[0] && /^[A-Z]/.test(seg[0]) ? seg[0] : '';
  if (op) return { interaction: `operation:${op}`, resourceType: type };
  if (seg[0] === 'metadata') return { interaction: 'capabilities', resourceType: '' };
  if (seg.includes('_history')) {
    return { interaction: seg.length === 4 ? 'vread' : seg.length === 3 ? 'history-instance' : seg.length === 2 ? 'history-type' : 'history-system', resourceType: type };
  }
  if (seg.length === 0) return { interaction: method === 'POST' ? 'batch/transaction' : 'search-system', resourceType: '' };
  if (seg.length === 1 || seg[1] === '_search') {
    const byMethod: Record<string, string> = { GET: 'search-type', HEAD: 'search-type', POST: seg[1] ? 'search-type' : 'create', PUT: 'conditional-update', DELETE: 'conditional-delete', PATCH: 'conditional-patch' };
    return { interaction: byMethod[method] ?? method, resourceType: type };
  }
  if (seg.length === 3) return { interaction: 'search-compartment', resourceType: type };
  const byMethod: Record<string, string> = { GET: 'read', HEAD: 'read', PUT: 'update', DELETE: 'delete', PATCH: 'patch' };
  return { interaction: byMethod[method] ?? method, resourceType: type };
}

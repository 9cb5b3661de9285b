import { expect } from 'chai';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadConfig, settingsHelp } from '../../server/config.js';
import { startTestServer, type TestServer } from '../support/server.js';

describe('operator endpoints', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer('postgres');
  });
  after(() => server.stop());

  it('/healthz says the process is alive', async () => {
    const res = await fetch(`${server.running.url}/healthz`);
    expect(res.status).to.equal(200);
  });

  it('/readyz reports the database and migrations ready', async () => {
    const res = await fetch(`${server.running.url}/readyz`);
    const body = (await res.json()) as { checks: Record<string, string> };
    expect(res.status).to.equal(200);
    expect(body.checks.database).to.equal('ok');
    expect(body.checks.migrations).to.equal('ok');
  });

  it('/metrics exposes request histograms by interaction and resource type, pool usage and outbox lag', async () => {
    await server.fhir('POST', 'Patient', { body: { resourceType: 'Patient' } });
    const text = await (await fetch(`${server.running.url}/metrics`)).text();
    expect(text).to.match(/fhir_http_request_duration_seconds_count\{interaction="create",resource_type="Patient",status="201"\} \d+/);
    expect(text).to.match(/db_pool_connections\{state="total"\}/);
    expect(text).to.match(/outbox_unrelayed_changes \d+/);
    expect(text).to.contain('process_resident_memory_bytes');
    expect(text).to.contain('nodejs_eventloop_lag_seconds');
  });

  it('error OperationOutcomes quote the X-Request-ID', async () => {
    const res = await server.fhir('GET', 'Patient/nope', { headers: { 'x-request-id': 'trace-42' } });
    expect(res.body.issue[0].diagnostics).to.contain('trace-42');
  });
});

describe('configuration', () => {
  it('every bad value is reported at once, by name', () => {
    expect(() => loadConfig({ PORT: 'eighty', LOG_LEVEL: 'loud', DATABASE_URL: 'mysql://x' })).to.throw(/PORT[\s\S]*DATABASE_URL[\s\S]*LOG_LEVEL/);
  });

  it('the heap may grow 50% past what is live unless HEAP_GROWTH_PERCENT says otherwise (0: V8 decides)', () => {
    expect(loadConfig({}).heapGrowthPercent).to.equal(50);
    expect(loadConfig({ HEAP_GROWTH_PERCENT: '0' }).heapGrowthPercent).to.equal(0);
    expect(() => loadConfig({ HEAP_GROWTH_PERCENT: 'half' })).to.throw(/HEAP_GROWTH_PERCENT/);
  });

  it('a settings file is read and the environment overrides it', () => {
    const config = loadConfig({ PORT: '9001' }, { PORT: '9000', MAX_COUNT: '50' });
    expect(config.port).to.equal(9001);
    expect(config.maxCount).to.equal(50);
  });

  it('CONFIG_FILE names the settings file: its KEY=value lines are read, # lines skipped, and the environment overrides them', () => {
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'hub-config-')), 'hub.env');
    writeFileSync(file, '# the hub\nPORT=9000\n  MAX_COUNT = 50\nRUN_WORKERS=false\n');
    const config = loadConfig({ CONFIG_FILE: file, PORT: '9001' });
    expect(config.port).to.equal(9001);
    expect(config.maxCount).to.equal(50);
    expect(config.subscriptions.runWorkers).to.equal(false);
  });

  it('--help lists every setting with its default and never a secret value', () => {
    const help = settingsHelp();
    for (const name of ['PORT', 'BASE_URL', 'DATABASE_URL', 'DB_POOL_SIZE', 'SLOW_QUERY_MS', 'METRICS_TOKEN']) expect(help).to.contain(name);
    expect(help).to.contain('secret');
  });
});

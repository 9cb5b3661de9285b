import { expect } from 'chai';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runImport } from '../../scripts/import-loader.js';
import { ProgressFile } from '../../scripts/import-progress.js';
import { httpTarget } from '../../scripts/import-targets.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { bundleFixture } from './support.js';

const patientLine = (i: number) => JSON.stringify({ resourceType: 'Patient', id: `import-${i}`, name: [{ family: `Import${i}` }] });

describe('npm run import: chunks, resume record, rejections with reasons', () => {
  let server: TestServer;
  let dir: string;
  before(async () => {
    server = await startTestServer('pglite');
    dir = mkdtempSync(path.join(os.tmpdir(), 'hub-import-'));
  });
  after(async () => {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('NDJSON loads in chunks; a chunk with a bad resource is re-sent as a batch so only that resource is rejected, with its line and reason', async () => {
    const lines = Array.from({ length: 25 }, (_, i) => patientLine(i));
    lines[7] = JSON.stringify({ resourceType: 'Patient', id: 'import-bad', gender: 'not-a-gender' });
    lines[12] = '{ not json';
    const file = path.join(dir, 'patients.ndjson');
    writeFileSync(file, lines.join('\n') + '\n');
    const progress = new ProgressFile(path.join(dir, 'progress.json'), 10);
    const summary = await runImport({ files: [file], target: httpTarget(server.base, await server.adminToken()), chunkSize: 10, concurrency: 2, progress, quiet: true });
    expect(summary.loaded).to.equal(23);
    expect(summary.rejected.map((r) => r.origin).sort()).to.deep.equal([`${file}:13`, `${file}:8`]);
    expect(summary.rejected.find((r) => r.origin.endsWith(':8'))?.reason).to.contain('gender');
    expect((await server.fhir('GET', 'Patient/import-24')).status).to.equal(200);
    const record = JSON.parse(readFileSync(path.join(dir, 'progress.json'), 'utf8'));
    expect(Object.values(record.files)[0]).to.include({ chunkSize: 10, loaded: 23 });

    const again = await runImport({ files: [file], target: httpTarget(server.base, await server.adminToken()), chunkSize: 10, concurrency: 2, progress: new ProgressFile(path.join(dir, 'progress.json'), 10), quiet: true });
    expect(again.loaded).to.equal(0);
    expect(again.skippedChunks).to.equal(3);
    expect(again.loadedBefore).to.equal(23);
  });

  it('a transaction Bundle file is sent whole, its urn:uuid links intact; a refused one is rejected whole with the server\'s reason', async () => {
    const good = path.join(dir, 'careteam.json');
    writeFileSync(good, JSON.stringify(bundleFixture('transaction-careteam-with-urn-links.json')));
    const bad = path.join(dir, 'invalid.json');
    writeFileSync(bad, JSON.stringify(bundleFixture('transaction-third-entry-invalid-gender.json')));
    const summary = await runImport({ files: [good, bad], target: httpTarget(server.base, await server.adminToken()), chunkSize: 500, concurrency: 1, quiet: true });
    expect(summary.loaded).to.equal(5);
    expect(summary.rejected).to.have.length(1);
    expect(summary.rejected[0].origin).to.equal(bad);
    expect(summary.rejected[0].reason).to.contain('400').and.contain('Bundle.entry[2].resource.gender');
  });
});

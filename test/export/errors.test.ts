import { expect } from 'chai';
import { seedNeighbourhood } from '../../server/seed.js';
import { describeEachDatabase, type FhirReply } from '../support/server.js';
import { ASYNC, exportAndWait, kickOff, poll } from './support.js';

/** The OperationOutcome of a 400 names the parameter in diagnostics and in the FHIRPath expression. */
function expectBadParameter(res: FhirReply, name: string): void {
  expect(res.status, res.text).to.equal(400);
  expect(res.body.resourceType).to.equal('OperationOutcome');
  expect(res.body.issue[0].diagnostics).to.contain(name);
  expect(res.body.issue[0].expression).to.deep.equal([name]);
}

// Kick-off errors, unknown jobs and cancellation: https://hl7.org/fhir/uv/bulkdata/export.html
describeEachDatabase('Bulk export errors and cancel', (server) => {
  before(async () => {
    await seedNeighbourhood(server().running.services.store);
  });

  it('a kick-off without Prefer: respond-async is a 400 that says so', async () => {
    const res = await server().fhir('GET', '$export');
    expect(res.status).to.equal(400);
    expect(res.body.issue[0].diagnostics).to.contain('Prefer: respond-async');
  });

  it('an unsupported _outputFormat is a 400 naming _outputFormat', async () => {
    expectBadParameter(await server().fhir('GET', '$export?_outputFormat=text/csv', { headers: ASYNC }), '_outputFormat');
  });

  it('an unknown _type is a 400 naming _type', async () => {
    expectBadParameter(await server().fhir('GET', 'Patient/$export?_type=Patient,Unicorn', { headers: ASYNC }), '_type');
  });

  it('a _since that is not an instant is a 400 naming _since', async () => {
    expectBadParameter(await server().fhir('GET', '$export?_since=last-tuesday', { headers: ASYNC }), '_since');
    // Not 1 March, which is what Date.parse makes of it.
    expectBadParameter(await server().fhir('GET', '$export?_since=2024-02-30T00:00:00Z', { headers: ASYNC }), '_since');
  });

  it('a patient parameter, given as the Reference the IG defines, is refused by name rather than ignored', async () => {
    const body = { resourceType: 'Parameters', parameter: [{ name: 'patient', valueReference: { reference: 'Patient/nope' } }] };
    expectBadParameter(await server().fhir('POST', 'Patient/$export', { headers: ASYNC, body }), 'patient');
  });

  it('_typeFilter, which this server does not implement, is refused by name rather than ignored', async () => {
    expectBadParameter(await server().fhir('GET', '$export?_typeFilter=Condition%3Fclinical-status%3Dactive', { headers: ASYNC }), '_typeFilter');
  });

  it('a Group that does not exist is a 404 at kick-off', async () => {
    const res = await server().fhir('GET', 'Group/no-such-group/$export', { headers: ASYNC });
    expect(res.status).to.equal(404);
    expect(res.body.resourceType).to.equal('OperationOutcome');
  });

  it('$export is not offered at Group type level or Patient instance level', async () => {
    expect((await server().fhir('GET', 'Group/$export', { headers: ASYNC })).status).to.equal(404);
    expect((await server().fhir('GET', 'Patient/pat-aisha-khan/$export', { headers: ASYNC })).status).to.equal(404);
  });

  it('an unknown job is a 404 with an OperationOutcome, for status, files and DELETE', async () => {
    for (const [method, path] of [['GET', '_export/nope'], ['GET', '_export/nope/1.ndjson'], ['DELETE', '_export/nope']]) {
      const res = await server().fhir(method, path);
      expect(res.status, `${method} ${path}`).to.equal(404);
      expect(res.body.resourceType).to.equal('OperationOutcome');
      expect(res.body.issue[0].code).to.equal('not-found');
    }
  });

  it('a kick-off by POST with a Parameters body works like GET', async () => {
    const res = await server().fhir('POST', '$export', {
      headers: ASYNC,
      body: { resourceType: 'Parameters', parameter: [{ name: '_type', valueString: 'Patient' }, { name: '_outputFormat', valueString: 'ndjson' }] },
    });
    expect(res.status, res.text).to.equal(202);
    const done = await poll(server(), res.headers.get('content-location')!);
    expect(done.body.output.map((o: { type: string; count: number }) => [o.type, o.count])).to.deep.equal([['Patient', 3]]);
  });

  it('DELETE on the status URL cancels the export and deletes its files (202), after which it is 404', async () => {
    const { statusUrl, manifest } = await exportAndWait(server(), '$export?_type=Condition');
    const fileUrl = manifest.output[0].url;
    const del = await server().fetch(statusUrl, { method: 'DELETE' });
    expect(del.status).to.equal(202);
    expect((await server().fetch(statusUrl)).status).to.equal(404);
    expect((await server().fetch(fileUrl)).status).to.equal(404);
    expect((await server().fetch(statusUrl, { method: 'DELETE' })).status).to.equal(404);
    const left = await server().running.services.db.query('SELECT 1 FROM export_chunk c JOIN export_file f USING (job_id, file_no) WHERE f.job_id = $1', [statusUrl.split('/').pop()]);
    expect(left).to.have.length(0);
  });

  it('a job cancelled straight after kick-off never completes', async () => {
    const statusUrl = await kickOff(server(), '$export');
    expect((await server().fetch(statusUrl, { method: 'DELETE' })).status).to.equal(202);
    await new Promise((r) => setTimeout(r, 300));
    expect((await server().fetch(statusUrl)).status).to.equal(404);
    const rows = await server().running.services.db.query('SELECT 1 FROM export_file WHERE job_id = $1', [statusUrl.split('/').pop()]);
    expect(rows).to.have.length(0);
  });
});

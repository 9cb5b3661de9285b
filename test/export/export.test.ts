import { expect } from 'chai';
import { seedNeighbourhood } from '../../server/seed.js';
import { describeEachDatabase } from '../support/server.js';
import { countByFile, countByType, exportAndWait, readOutput, storedCounts } from './support.js';

// Bulk Data Access IG 2.0, $export: https://hl7.org/fhir/uv/bulkdata/export.html
// These servers have no Redis, so the export runs in the API process (the queue path: queue.test.ts).
describeEachDatabase('Bulk export over HTTP', (server) => {
  // The neighbourhood: three patients, each with 3 Conditions, a CareTeam and an Appointment; two MedicationRequests.
  const COMPARTMENT = { Patient: 3, Condition: 9, CareTeam: 3, MedicationRequest: 2, Appointment: 3 };

  before(async () => {
    await seedNeighbourhood(server().running.services.store);
  });

  it('system $export answers 202 with Content-Location, then a manifest with transactionTime, request, requiresAccessToken, output and error', async () => {
    const before = Date.now();
    const { manifest } = await exportAndWait(server(), '$export?_type=Patient,Condition');
    expect(Object.keys(manifest).sort()).to.deep.equal(['error', 'output', 'request', 'requiresAccessToken', 'transactionTime']);
    expect(Date.parse(manifest.transactionTime)).to.be.within(before - 1000, Date.now());
    expect(manifest.request).to.equal(`${server().base}/$export?_type=Patient%2CCondition`);
    // The status and file URLs are under the authenticated FHIR base: without the token they are 401.
    expect(manifest.requiresAccessToken).to.equal(true);
    expect((await fetch(manifest.output[0].url)).status).to.equal(401);
    expect(manifest.error).to.deep.equal([]);
    expect(countByFile(manifest.output)).to.deep.equal({ Patient: 3, Condition: 9 });
    for (const file of manifest.output) expect(file.url.startsWith(`${server().base}/`)).to.equal(true);
  });

  it('NDJSON files hold one resource per line, each parses, and counts match the manifest', async () => {
    const { manifest } = await exportAndWait(server(), '$export?_type=Patient,Condition&_outputFormat=application/fhir%2Bndjson');
    const resources = await readOutput(server(), manifest);
    expect(countByType(resources)).to.deep.equal({ Patient: 3, Condition: 9 });
    expect(resources.find((r) => r.id === 'pat-aisha-khan')).to.include({ resourceType: 'Patient' });
  });

  it('system $export without _type contains every current resource of every type', async () => {
    const { manifest } = await exportAndWait(server(), '$export?_outputFormat=ndjson');
    const resources = await readOutput(server(), manifest);
    expect(countByType(resources)).to.deep.equal(await storedCounts(server()));
    expect(new Set(resources.map((r) => `${r.resourceType}/${r.id}`)).size).to.equal(resources.length);
  });

  it('Patient/$export returns the Patient compartments and nothing outside them', async () => {
    const { manifest } = await exportAndWait(server(), 'Patient/$export?_outputFormat=application/ndjson');
    const resources = await readOutput(server(), manifest);
    expect(countByType(resources)).to.deep.equal(COMPARTMENT);
    expect(manifest.request).to.equal(`${server().base}/Patient/$export?_outputFormat=application%2Fndjson`);
  });

  it('Patient/$export with _type only exports those types', async () => {
    const { manifest } = await exportAndWait(server(), 'Patient/$export?_type=CareTeam&_type=Appointment');
    expect(countByType(await readOutput(server(), manifest))).to.deep.equal({ CareTeam: 3, Appointment: 3 });
  });

  it('Group/[id]/$export covers the group members only', async () => {
    const group = await server().fhir('PUT', 'Group/export-two', {
      body: {
        resourceType: 'Group',
        id: 'export-two',
        type: 'person',
        actual: true,
        member: [{ entity: { reference: 'Patient/pat-aisha-khan' } }, { entity: { reference: 'Patient/pat-derek-brown' } }, { entity: { reference: 'Patient/pat-margaret-jones' }, inactive: true }],
      },
    });
    expect(group.status, group.text).to.be.oneOf([200, 201]);
    const { manifest } = await exportAndWait(server(), 'Group/export-two/$export');
    const resources = await readOutput(server(), manifest);
    expect(resources.filter((r) => r.resourceType === 'Patient').map((r) => r.id).sort()).to.deep.equal(['pat-aisha-khan', 'pat-derek-brown']);
    expect(countByType(resources)).to.include({ Patient: 2, Condition: 6, CareTeam: 2, Appointment: 2 });
    const subjects = resources.filter((r) => r.resourceType === 'Condition').map((r) => (r as { subject?: { reference?: string } }).subject?.reference);
    expect(subjects).not.to.include('Patient/pat-margaret-jones');
  });

  it('_since exports only resources changed after the instant, at system and Patient level', async () => {
    await new Promise((r) => setTimeout(r, 20));
    const since = new Date().toISOString();
    await new Promise((r) => setTimeout(r, 20));
    const read = await server().fhir('GET', 'Condition/cond-derek-brown-1');
    const changed = await server().fhir('PUT', 'Condition/cond-derek-brown-1', { body: { ...read.body, note: [{ text: 'reviewed' }] } });
    expect(changed.status, changed.text).to.equal(200);
    const system = await exportAndWait(server(), `$export?_since=${encodeURIComponent(since)}`);
    expect(countByType(await readOutput(server(), system.manifest))).to.deep.equal({ Condition: 1 });
    const patients = await exportAndWait(server(), `Patient/$export?_since=${encodeURIComponent(since)}`);
    const resources = await readOutput(server(), patients.manifest);
    expect(resources.map((r) => `${r.resourceType}/${r.id}`)).to.deep.equal(['Condition/cond-derek-brown-1']);
  });

  it('an export of nothing completes with an empty output list', async () => {
    const { manifest } = await exportAndWait(server(), '$export?_type=Observation');
    expect(manifest.output).to.deep.equal([]);
  });

  it('the CapabilityStatement declares $export at system, Patient and Group level and says how jobs run', async () => {
    const cs = (await server().fhir('GET', 'metadata')).body;
    expect(cs.instantiates).to.include('http://hl7.org/fhir/uv/bulkdata/CapabilityStatement/bulk-data');
    const rest = cs.rest[0];
    expect(rest.operation).to.deep.include({ name: 'export', definition: 'http://hl7.org/fhir/uv/bulkdata/OperationDefinition/export' });
    const op = (type: string): unknown => rest.resource.find((r: { type: string }) => r.type === type).operation.find((o: { name: string }) => o.name === 'export');
    expect(op('Patient')).to.deep.equal({ name: 'export', definition: 'http://hl7.org/fhir/uv/bulkdata/OperationDefinition/patient-export' });
    expect(op('Group')).to.deep.equal({ name: 'export', definition: 'http://hl7.org/fhir/uv/bulkdata/OperationDefinition/group-export' });
    expect(rest.documentation).to.match(/BullMQ/).and.match(/API process otherwise/);
  });
});

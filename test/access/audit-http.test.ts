import { expect } from 'chai';
import { seedNeighbourhood } from '../../server/seed.js';
import { startTestServer, type TestServer } from '../support/server.js';

type AuditEventLike = { id: string; entity?: Array<{ what?: { reference?: string } }> };
const subjectOf = (token: string): string => JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString('utf8')).sub;

describe('audit trail and abuse limits over HTTP', function () {
  this.timeout(60_000);
  let server: TestServer;
  let gp: string;

  before(async () => {
    server = await startTestServer('postgres', { rateLimitPerMinute: 40 });
    await seedNeighbourhood(server.running.services.store);
    gp = await server.clientToken({ kind: 'gp-practice', org: 'B84002', scopes: ['system/*.cruds'] });
  });
  after(() => server.stop());

  it('a read is on the record before the answer, searchable by patient and by client, with its outcome', async () => {
    expect((await server.fhir('GET', 'Patient/pat-derek-brown', { as: gp })).status).to.equal(200);
    expect((await server.fhir('GET', 'Patient/pat-aisha-khan', { as: gp })).status).to.equal(404);
    const client = subjectOf(gp);
    const byClient = await server.fhir('GET', `AuditEvent?client=${client}&_count=100`);
    expect(byClient.status).to.equal(200);
    const events = byClient.body.entry.map((e: { resource: any }) => e.resource); // eslint-disable-line @typescript-eslint/no-explicit-any
    const read = events.find((e: any) => e.entity?.some((x: any) => x.what?.reference === 'Patient/pat-derek-brown')); // eslint-disable-line @typescript-eslint/no-explicit-any
    expect(read, 'the read of Derek').to.exist;
    expect(read.outcome).to.equal('0');
    expect(read.agent.some((a: any) => a.who?.identifier?.value === 'B84002')).to.equal(true); // eslint-disable-line @typescript-eslint/no-explicit-any
    expect(events.some((e: any) => e.outcome === '4')).to.equal(true); // eslint-disable-line @typescript-eslint/no-explicit-any
    const byPatient = await server.fhir('GET', `AuditEvent?patient=Patient/pat-derek-brown&client=${client}`);
    expect(byPatient.body.entry.length).to.be.greaterThan(0);
  });

  it('a GP practice sees the AuditEvents about its own patients, by id, by patient and in history, and none about another practice\'s patient', async () => {
    // Accesses to each patient, recorded under the administrator.
    expect((await server.fhir('GET', 'Patient/pat-derek-brown')).status).to.equal(200);
    expect((await server.fhir('GET', 'Patient/pat-aisha-khan')).status).to.equal(200);
    const about = async (patient: string): Promise<string> => (await server.fhir('GET', `AuditEvent?patient=Patient/${patient}&_count=1`)).body.entry[0].resource.id;
    const derek = await about('pat-derek-brown');
    const aisha = await about('pat-aisha-khan');

    expect((await server.fhir('GET', `AuditEvent/${derek}`, { as: gp })).status).to.equal(200);
    expect((await server.fhir('GET', `AuditEvent/${derek}/_history/1`, { as: gp })).status).to.equal(200);
    expect((await server.fhir('GET', `AuditEvent/${aisha}`, { as: gp })).status).to.equal(404);
    expect((await server.fhir('GET', `AuditEvent/${aisha}/_history/1`, { as: gp })).status).to.equal(404);
    const ids = (reply: { body: { entry?: Array<{ resource: { id: string } }> } }): string[] => (reply.body.entry ?? []).map((e) => e.resource.id);
    expect(ids(await server.fhir('GET', 'AuditEvent?patient=Patient/pat-derek-brown&_count=100', { as: gp }))).to.include(derek);
    expect(ids(await server.fhir('GET', 'Patient/pat-derek-brown/AuditEvent?_count=100', { as: gp }))).to.include(derek);
    expect(ids(await server.fhir('GET', `AuditEvent/${derek}/_history`, { as: gp }))).to.deep.equal([derek]);
    expect(ids(await server.fhir('GET', `AuditEvent/${aisha}/_history`, { as: gp }))).to.deep.equal([]);
    // Every event the practice finds names one of its patients (a search's event names every patient it found, so
    // Aisha may be named beside Derek); none names only patients it may not read, nor no patient at all (logins).
    const found = [
      ...(await server.fhir('GET', 'AuditEvent?patient=Patient/pat-aisha-khan&_count=1000', { as: gp })).body.entry,
      ...(await server.fhir('GET', 'AuditEvent?_count=1000', { as: gp })).body.entry,
      ...(await server.fhir('GET', 'AuditEvent/_history?_count=1000', { as: gp })).body.entry,
    ].map((e: { resource: AuditEventLike }) => e.resource);
    expect(found.map((e) => e.id)).to.include(derek).and.not.include(aisha);
    const patientsOf = (e: AuditEventLike): string[] => (e.entity ?? []).map((x) => x.what?.reference ?? '').filter((r) => r.startsWith('Patient/'));
    const named = new Set(found.flatMap(patientsOf));
    named.delete('Patient/pat-aisha-khan');
    const readable = new Set<string>();
    for (const patient of named) if ((await server.fhir('GET', patient, { as: gp })).status === 200) readable.add(patient);
    expect(found.every((e) => patientsOf(e).some((p) => readable.has(p)))).to.equal(true);
  });

  it('token requests are audited', async () => {
    const logins = await server.fhir('GET', `AuditEvent?client=${subjectOf(gp)}&subtype=http://dicom.nema.org/resources/ontology/DCM|110122`);
    expect(logins.body.entry?.length ?? 0).to.be.greaterThan(0);
  });

  it('AuditEvents cannot be created, changed or deleted through the API, even by the administrator', async () => {
    const some = (await server.fhir('GET', 'AuditEvent?_count=1')).body.entry[0].resource;
    expect((await server.fhir('PUT', `AuditEvent/${some.id}`, { body: { ...some, outcome: '0' } })).status).to.equal(405);
    expect((await server.fhir('DELETE', `AuditEvent/${some.id}`)).status).to.equal(405);
    expect((await server.fhir('POST', 'AuditEvent', { body: { ...some, id: undefined } })).status).to.equal(405);
    expect((await server.fhir('GET', `AuditEvent/${some.id}`)).body.meta.versionId).to.equal(some.meta.versionId);
  });

  it('the CapabilityStatement offers AuditEvent read and search only', async () => {
    const statement = (await server.fhir('GET', 'metadata')).body;
    const audit = statement.rest[0].resource.find((r: { type: string }) => r.type === 'AuditEvent');
    expect(audit.interaction.map((i: { code: string }) => i.code).sort()).to.deep.equal(['history-instance', 'history-type', 'read', 'search-type', 'vread']);
  });

  it('a client over its rate limit gets 429 with Retry-After and an OperationOutcome; others are unaffected', async () => {
    const busy = await server.clientToken({ kind: 'gp-practice', org: 'B84002', scopes: ['system/*.cruds'] });
    let last = 0;
    let reply;
    for (let i = 0; i < 45 && last !== 429; i++) {
      reply = await server.fhir('GET', 'Patient?_count=1', { as: busy });
      last = reply.status;
    }
    expect(last).to.equal(429);
    expect(reply!.headers.get('retry-after')).to.match(/^\d+$/);
    expect(reply!.body.issue[0].code).to.equal('throttled');
    expect((await server.fhir('GET', 'Patient?_count=1', { as: gp })).status).to.equal(200);
  });
});

import { expect } from 'chai';
import type { Bundle, MessageHeader } from '@medplum/fhirtypes';
import { sharedExample } from '../support/examples.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { countOf, seedAccessFixtures } from './support.js';

const ODS = 'https://fhir.nhs.uk/Id/ods-organization-code';

describe('access: a GP practice sends prescriptions, and cannot claim another practice’s patients', function () {
  this.timeout(120_000);
  let server: TestServer;

  before(async () => {
    server = await startTestServer('postgres');
    await seedAccessFixtures(server.running.services.store);
  });
  after(() => server.stop());

  it('$process-message from the prescribing practice (A83008) stores the prescription; a repeat is recognised although the practice cannot read the kept message', async () => {
    const hallgarth = await server.clientToken({ kind: 'gp-practice', org: 'A83008', scopes: ['system/*.cruds'] });
    const message = sharedExample<Bundle>('eps/gp-acute-nominated-pharmacy.json');
    // Its staff role names the practice's Organization, which comes later in the message: the
    // transaction's writes are judged as the transaction leaves them.
    const first = await server.fhir('POST', '$process-message', { as: hallgarth, body: message });
    expect(first.status, JSON.stringify(first.body)).to.equal(200);
    const prescriptions = await countOf(server, 'MedicationRequest?dispense-performer:identifier=' + encodeURIComponent(`${ODS}|FA565`));
    expect(prescriptions).to.be.greaterThan(0);
    const again = await server.fhir('POST', '$process-message', { as: hallgarth, body: message });
    expect(again.status).to.equal(200);
    expect(again.body.issue[0].diagnostics).to.contain('already processed');
    expect(await countOf(server, 'MedicationRequest?dispense-performer:identifier=' + encodeURIComponent(`${ODS}|FA565`))).to.equal(prescriptions);
  });

  it('the pharmacy it is addressed to reads the message header and the prescriber’s signed Provenance; another pharmacy does not', async () => {
    const highStreet = await server.clientToken({ kind: 'pharmacy', org: 'FA565', scopes: ['system/*.rs'] });
    const elsewhere = await server.clientToken({ kind: 'pharmacy', org: 'FA999', scopes: ['system/*.rs'] });
    for (const [as, expected] of [[highStreet, 1], [elsewhere, 0]] as const) {
      expect((await server.fhir('GET', 'MessageHeader', { as })).body.entry ?? [], 'MessageHeader').to.have.length(expected);
      const provenance = (await server.fhir('GET', 'Provenance', { as })).body.entry ?? [];
      expect(provenance, 'Provenance').to.have.length(expected);
      if (expected) expect(provenance[0].resource.signature[0].data).to.be.a('string');
    }
  });

  it('a message sent in another practice’s name is 403, and nothing of it is stored', async () => {
    const meadowLane = await server.clientToken({ kind: 'gp-practice', org: 'B84002', scopes: ['system/*.cruds'] });
    const message = sharedExample<Bundle>('eps/gp-acute-nominated-pharmacy.json');
    message.identifier = { system: 'https://tools.ietf.org/html/rfc4122', value: 'sent-as-someone-else' };
    const header = message.entry![0].resource as MessageHeader;
    expect(header.sender?.identifier?.value).to.equal('A83008');
    const before = await countOf(server, 'MedicationRequest');
    const res = await server.fhir('POST', '$process-message', { as: meadowLane, body: message });
    expect(res.status).to.equal(403);
    expect(await countOf(server, 'MedicationRequest')).to.equal(before);
  });

  it('a transaction entry the policy refuses is named by its FHIRPath, although the check runs when the transaction ends', async () => {
    const meadowLane = await server.clientToken({ kind: 'gp-practice', org: 'B84002', scopes: ['system/*.cruds'] });
    const condition = (patient: string) => ({ resource: { resourceType: 'Condition', subject: { reference: `Patient/${patient}` }, code: { text: 'asthma' } }, request: { method: 'POST', url: 'Condition' } });
    const before = await countOf(server, 'Condition?code:text=asthma');
    const res = await server.fhir('POST', '', { as: meadowLane, body: { resourceType: 'Bundle', type: 'transaction', entry: [condition('pat-derek-brown'), condition('pat-aisha-khan')] } });
    expect(res.status).to.equal(403);
    expect(res.body.issue[0].expression).to.deep.equal(['Bundle.entry[1]']);
    expect(await countOf(server, 'Condition?code:text=asthma')).to.equal(before);
  });

  it('a staff role a practice creates for another practice’s doctor does not give it the patients registered with that doctor', async () => {
    const riverside = await server.clientToken({ kind: 'gp-practice', org: 'B84001', scopes: ['system/*.cruds'] });
    await server.fhir('PUT', 'Patient/pat-registered-with-hughes', {
      body: { resourceType: 'Patient', id: 'pat-registered-with-hughes', name: [{ family: 'Hughes-Patient' }], generalPractitioner: [{ reference: 'Practitioner/prac-tom-hughes' }] },
    });
    const role = await server.fhir('POST', 'PractitionerRole', {
      as: riverside,
      body: { resourceType: 'PractitionerRole', active: true, practitioner: { reference: 'Practitioner/prac-tom-hughes' }, organization: { reference: 'Organization/org-riverside-surgery' } },
    });
    expect(role.status, 'a practice maintains its own staff roles').to.equal(201);
    expect((await server.fhir('GET', 'Patient/pat-registered-with-hughes', { as: riverside })).status).to.equal(404);
  });
});

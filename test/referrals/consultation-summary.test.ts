import { expect } from 'chai';
import { countOf, startSeededServer } from '../access/support.js';
import { fixture } from '../support/examples.js';
import type { TestServer } from '../support/server.js';

const ODS = 'https://fhir.nhs.uk/Id/ods-organization-code';
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- fixtures are edited per test
const summary = (): any => fixture('referrals/consultation-summary-derek.json');

// High Street Pharmacy (FA565) saw Derek (registered with Meadow Lane, B84002) under Pharmacy First.
describe('referrals: a community pharmacy consultation summary reaches the registered GP practice', function () {
  this.timeout(120_000);
  let server: TestServer;
  let tokens: Record<string, string>;

  before(async () => {
    ({ server, tokens } = await startSeededServer({ pharmacy: { kind: 'pharmacy', org: 'FA565' }, meadowLane: { kind: 'gp-practice', org: 'B84002' }, riverside: { kind: 'gp-practice', org: 'B84001' } }));
  });
  after(() => server.stop());

  it('the message is published as a MessageDefinition with the hub’s own event code', async () => {
    const definition = await server.fhir('GET', 'MessageDefinition/consultation-summary', { as: tokens.pharmacy });
    expect(definition.status).to.equal(200);
    expect(definition.body.eventCoding).to.deep.equal({ system: 'https://fhir.neighbourhood-hub.example/CodeSystem/message-event', code: 'consultation-summary' });
  });

  it('stored in one transaction against the hub’s own patient, and addressed to the registered practice by ODS code', async () => {
    const patients = await countOf(server, 'Patient');
    const sent = await server.fhir('POST', '$process-message', { as: tokens.pharmacy, body: summary() });
    expect(sent.status, sent.text).to.equal(200);
    expect(sent.body.issue[0].diagnostics).to.match(/addressed to practice B84002/);
    expect(await countOf(server, 'Patient')).to.equal(patients);

    const headers = await server.fhir('GET', 'MessageHeader', { as: tokens.meadowLane });
    const header = headers.body.entry.map((e: { resource: { eventCoding: { code: string } } }) => e.resource).find((h: { eventCoding: { code: string } }) => h.eventCoding.code === 'consultation-summary');
    expect(header.destination[0].receiver.identifier).to.deep.equal({ system: ODS, value: 'B84002' });
    const compositions = await server.fhir('GET', 'Composition?subject=Patient/pat-derek-brown', { as: tokens.meadowLane });
    expect(compositions.body.entry).to.have.length(1);
    const sinusitis = await server.fhir('GET', 'Condition?patient=Patient/pat-derek-brown&code=http://snomed.info/sct|15805002', { as: tokens.meadowLane });
    expect(sinusitis.body.entry).to.have.length(1);
    // Another practice is not addressed and does not see it.
    expect((await server.fhir('GET', 'MessageHeader', { as: tokens.riverside })).body.entry ?? []).to.deep.equal([]);
  });

  it('a patient the hub holds no record of: stored, and the answer says nobody was addressed', async () => {
    const message = summary();
    message.identifier.value = 'unknown-patient';
    message.entry[1].resource.identifier[0].value = '9434765919';
    const sent = await server.fhir('POST', '$process-message', { as: tokens.pharmacy, body: message });
    expect(sent.status, sent.text).to.equal(200);
    expect(sent.body.issue[0].diagnostics).to.match(/the hub holds no record of this patient, so nobody was addressed/);
    expect(await countOf(server, 'Patient?identifier=https://fhir.nhs.uk/Id/nhs-number|9434765919')).to.equal(1);
  });

  it('an entry without a resource, or a header whose focus is no reference, is 400; an NHS number holding search syntax adds no search parameter', async () => {
    const send = (message: unknown) => server.fhir('POST', '$process-message', { as: tokens.pharmacy, body: message });
    const nullEntry = summary();
    nullEntry.entry.push(null);
    const refused = await send(nullEntry);
    expect([refused.status, refused.body.issue[0].expression]).to.deep.equal([400, [`Bundle.entry[${nullEntry.entry.length - 1}].resource`]]);
    const badFocus = summary();
    badFocus.entry[0].resource.focus = [{ reference: 5 }];
    expect((await send(badFocus)).status).to.equal(400);
    const injected = summary();
    injected.identifier.value = 'injected-nhs-number';
    injected.entry[1].resource.identifier[0].value = '9434765919&_count=abc';
    const sent = await send(injected);
    expect(sent.text).to.not.contain('_count');
  });

  it('a summary without its Composition is 400 and stores nothing', async () => {
    const message = summary();
    message.identifier.value = 'no-composition';
    message.entry = message.entry.filter((e: { resource: { resourceType: string } }) => e.resource.resourceType !== 'Composition');
    const before = await countOf(server, 'Encounter');
    const sent = await server.fhir('POST', '$process-message', { as: tokens.pharmacy, body: message });
    expect(sent.status).to.equal(400);
    expect(sent.body.issue[0].expression).to.deep.equal(['Bundle.entry']);
    expect(await countOf(server, 'Encounter')).to.equal(before);
  });
});

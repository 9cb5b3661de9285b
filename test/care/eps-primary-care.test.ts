import { expect } from 'chai';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import type { Bundle, MedicationRequest, MessageHeader } from '@medplum/fhirtypes';
import { SHARED_EXAMPLES, sharedExample } from '../support/examples.js';
import { describeEachDatabase } from '../support/server.js';

// The 22 EPS primary-care messages (fixtures/nhs-examples/eps-primary-care): a name ending 200_OK is
// accepted by EPS, one ending 400_<reason> refused for that reason; the hub judges them the same way.
const DIR = 'eps-primary-care';
const files = readdirSync(path.join(SHARED_EXAMPLES, DIR)).filter((f) => f.endsWith('.json')).sort();
const message = (file: string): Bundle => sharedExample<Bundle>(`${DIR}/${file}`);
const medicationRequests = (b: Bundle): MedicationRequest[] => (b.entry ?? []).map((e) => e.resource).filter((r): r is MedicationRequest => r?.resourceType === 'MedicationRequest');

/** What EPS answers each refused message with: its Spine error code or issue text. */
const REFUSALS: Record<string, RegExp> = {
  INVALID_CHECKSUM: /check character/,
  invalid_intent: /MedicationRequest\.intent must be order, original-order or instance-order/,
  Invalid_Course_of_Therapy_mixed: /Course of therapy type must either match for all MedicationRequests or be a mixture of 'acute' and 'continuous'/,
};

describeEachDatabase('EPS primary-care messages, judged as EPS judges them', (server) => {
  const send = (body: unknown) => server().fhir('POST', '$process-message', { body });

  it('there are 22 of them', () => expect(files).to.have.length(22));

  for (const file of files.filter((f) => f.endsWith('200_OK.json'))) {
    it(`${file} is accepted and routed to the pharmacy its MessageHeader names`, async () => {
      const msg = message(file);
      const res = await send(msg);
      expect(res.status, JSON.stringify(res.body)).to.equal(200);
      const header = msg.entry?.[0].resource as MessageHeader;
      const pharmacy = header.destination?.[0].receiver?.identifier?.value as string;
      expect(res.body.issue[0].severity).to.equal('information');
      expect(res.body.issue[0].diagnostics).to.contain(`pharmacy ${pharmacy}`);
      const first = medicationRequests(msg)[0];
      const stored = await server().fhir('GET', `MedicationRequest?identifier=${encodeURIComponent(`${first.identifier?.[0].system}|${first.identifier?.[0].value}`)}`);
      expect(stored.body.entry, JSON.stringify(stored.body)).to.have.length(1);
    });
  }

  for (const file of files.filter((f) => /400_[^.]+\.json$/.test(f))) {
    const reason = /400_([^.]+)\.json$/.exec(file)![1];
    it(`${file} is refused for ${reason}, and nothing is stored`, async () => {
      const before = (await server().fhir('GET', 'MedicationRequest?_summary=count')).body.total;
      const res = await send(message(file));
      expect(res.status).to.equal(400);
      expect(res.body.issue.map((i: { diagnostics: string }) => i.diagnostics).join('\n')).to.match(REFUSALS[reason]);
      expect((await server().fhir('GET', 'MedicationRequest?_summary=count')).body.total).to.equal(before);
    });
  }

  describe('the rules, one at a time, on an accepted message', () => {
    const ACUTE = 'primary-care__acute__nominated-pharmacy__medical-prescriber__1-Process-Request-Send-200_OK.json';
    /** The accepted acute prescription under a new message id, changed by `change`. */
    function variant(id: string, change: (items: MedicationRequest[], msg: Bundle) => void): Bundle {
      const msg = message(ACUTE);
      msg.identifier = { system: 'https://tools.ietf.org/html/rfc4122', value: id };
      change(medicationRequests(msg), msg);
      return msg;
    }

    it('a dispenseRequest.performer other than the destination is accepted; the answer says where it was routed', async () => {
      const msg = variant('performer-differs', (items) => {
        for (const m of items) m.dispenseRequest = { ...m.dispenseRequest, performer: { identifier: { system: 'https://fhir.nhs.uk/Id/ods-organization-code', value: 'FLM49' } } };
      });
      const res = await send(msg);
      expect(res.status, JSON.stringify(res.body)).to.equal(200);
      expect(res.body.issue[0].diagnostics).to.contain('routed to pharmacy FA565').and.contain('dispenseRequest.performer names FLM49');
    });

    it('a reference to a urn:uuid the message does not carry stays a reference outside it', async () => {
      const msg = message('primary-care__acute__nominated-pharmacy__responsible-party-org__separate-telecom__1-Process-Request-Send-200_OK.json');
      msg.identifier = { system: 'https://tools.ietf.org/html/rfc4122', value: 'external-urn' };
      expect((await send(msg)).status).to.equal(200);
      const provenance = await server().fhir('GET', 'Provenance?_count=50');
      const targets = provenance.body.entry.flatMap((e: { resource: { target: { reference: string }[] } }) => e.resource.target.map((t) => t.reference));
      expect(targets).to.include('urn:uuid:0cb82cfa-76c8-4fb2-a08e-bf0e326e5487');
    });

    it('a message reusing an id with other content is another message; the same content again is a repeat', async () => {
      const msg = variant('reused-id', (items) => {
        items.forEach((m, i) => (m.identifier = [{ system: 'https://fhir.nhs.uk/Id/prescription-order-item-number', value: `reused-${i}` }]));
      });
      expect((await send(msg)).body.issue[0].diagnostics).to.contain('routed to pharmacy');
      expect((await send(msg)).body.issue[0].diagnostics).to.contain('already processed');
      medicationRequests(msg).forEach((m, i) => (m.identifier = [{ system: 'https://fhir.nhs.uk/Id/prescription-order-item-number', value: `reused-again-${i}` }]));
      expect((await send(msg)).body.issue[0].diagnostics).to.contain('routed to pharmacy');
    });

    const refusals: [string, (items: MedicationRequest[], msg: Bundle) => void, RegExp, RegExp][] = [
      ['a status other than active', (items) => (items[1].status = 'on-hold'), /MedicationRequest\.status must be active/, /\.status$/],
      ['two items with one identifier', (items) => (items[1].identifier = items[0].identifier), /different value for identifier/, /\.identifier$/],
      ['validity periods that differ', (items) => (items[2].dispenseRequest = { ...items[2].dispenseRequest, validityPeriod: { start: '2020-01-01' } }), /same value for dispenseRequest\.validityPeriod/, /dispenseRequest\.validityPeriod$/],
      ['both medicationCodeableConcept and medicationReference', (items) => (items[0].medicationReference = { reference: 'Medication/x' }), /cannot contain both medicationReference and medicationCodeableConcept/, /\.medication$/],
      ['intent plan', (items) => (items[0].intent = 'plan'), /intent must be order, original-order or instance-order/, /\.intent$/],
    ];
    for (const [what, change, diagnostics, expression] of refusals) {
      it(`${what} is refused as EPS refuses it (400, issue code value)`, async () => {
        const res = await send(variant(`refused-${what}`, change));
        expect(res.status).to.equal(400);
        const found = res.body.issue.find((i: { diagnostics: string }) => diagnostics.test(i.diagnostics));
        expect(found, JSON.stringify(res.body)).to.exist;
        expect(found.expression[0]).to.match(expression);
      });
    }

    it('courses of therapy acute and continuous may mix; a cancellation carries exactly one MedicationRequest', async () => {
      const mixed = variant('acute-and-continuous', (items) => {
        items[1].courseOfTherapyType = { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/medicationrequest-course-of-therapy', code: 'continuous' }] };
        items.forEach((m, i) => (m.identifier = [{ system: 'https://fhir.nhs.uk/Id/prescription-order-item-number', value: `mixed-${i}` }]));
      });
      expect((await send(mixed)).status).to.equal(200);
      const cancellation = variant('cancel-two', (items, msg) => {
        (msg.entry![0].resource as MessageHeader).eventCoding = { system: 'https://fhir.nhs.uk/CodeSystem/message-event', code: 'prescription-order-update' };
        for (const m of items) Object.assign(m, { status: 'cancelled', statusReason: { coding: [{ system: 'https://fhir.nhs.uk/CodeSystem/medicationrequest-status-reason', code: '0001' }] } });
      });
      const res = await send(cancellation);
      expect(res.status).to.equal(400);
      expect(res.body.issue[0].diagnostics).to.contain('exactly one MedicationRequest');
    });
  });
});

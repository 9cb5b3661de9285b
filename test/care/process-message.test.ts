import { expect } from 'chai';
import type { Bundle, MedicationRequest, MessageHeader } from '@medplum/fhirtypes';
import { sharedExample } from '../support/examples.js';
import { describeEachDatabase } from '../support/server.js';

const eps = (name: string): Bundle => sharedExample<Bundle>(`eps/${name}.json`);
const medicationRequests = (b: Bundle) => (b.entry ?? []).filter((e) => e.resource?.resourceType === 'MedicationRequest').map((e) => e.resource as MedicationRequest);

/** The gp-acute example as EPS would send a cancellation of its first item: event prescription-order-update, one MedicationRequest cancelled with a reason. */
function cancellationOf(order: Bundle): Bundle {
  const msg = structuredClone(order);
  const first = medicationRequests(msg)[0];
  msg.entry = msg.entry?.filter((e) => e.resource?.resourceType !== 'MedicationRequest' || e.resource === first);
  msg.identifier = { system: 'https://tools.ietf.org/html/rfc4122', value: 'cancel-0001' };
  (msg.entry?.[0].resource as MessageHeader).eventCoding = { system: 'https://fhir.nhs.uk/CodeSystem/message-event', code: 'prescription-order-update' };
  for (const m of medicationRequests(msg)) {
    m.status = 'cancelled';
    m.statusReason = { coding: [{ system: 'https://fhir.nhs.uk/CodeSystem/medicationrequest-status-reason', code: '0001', display: 'Prescribing Error' }] };
  }
  return msg;
}

describeEachDatabase('$process-message: prescriptions to pharmacies and bookings', (server) => {
  const send = (body: unknown, headers: Record<string, string> = {}) => server().fhir('POST', '$process-message', { body, headers });

  for (const name of ['gp-acute-nominated-pharmacy', 'pharmacist-prescriber', 'cancellation']) {
    it(`the valid EPS message ${name} is accepted, stored and addressed to its pharmacy`, async () => {
      const message = eps(name);
      const pharmacy = (message.entry?.[0].resource as MessageHeader).destination?.[0].receiver?.identifier?.value;
      const res = await send(message);
      expect(res.status, JSON.stringify(res.body)).to.equal(200);
      expect(res.body.resourceType).to.equal('OperationOutcome');
      expect(res.body.issue[0].severity).to.equal('information');
      const groupId = medicationRequests(message)[0].groupIdentifier?.value;
      const stored = await server().fhir('GET', `MedicationRequest?identifier=${encodeURIComponent(medicationRequests(message)[0].identifier?.[0].value as string)}`);
      expect(stored.body.entry).to.have.length(1);
      const m = stored.body.entry[0].resource;
      expect(m.groupIdentifier.value).to.equal(groupId);
      expect(m.dispenseRequest.performer.identifier.value).to.equal(pharmacy);
      expect(m.subject.reference).to.match(/^Patient\/[^/]+$/);
    });
  }

  it('the same message twice is processed once (idempotent on the message id)', async () => {
    const message = eps('gp-acute-nominated-pharmacy');
    const before = (await server().fhir('GET', 'MedicationRequest?_summary=count')).body.total;
    const again = await send(message);
    expect(again.status).to.equal(200);
    expect(again.body.issue[0].diagnostics).to.contain('already processed');
    expect((await server().fhir('GET', 'MedicationRequest?_summary=count')).body.total).to.equal(before);
  });

  it('a message whose entries or identifier FHIR would not accept (an extension or identifier that is no list) is a 400 naming the element, and nothing is stored', async () => {
    const before = (await server().fhir('GET', 'MedicationRequest?_summary=count')).body.total;
    const broken: Array<[(m: Bundle) => void, RegExp]> = [
      [(m) => ((medicationRequests(m)[0] as unknown as Record<string, unknown>).extension = 5), /^Bundle\.entry\[\d+\]\.resource\.extension/],
      [(m) => ((medicationRequests(m)[0] as unknown as Record<string, unknown>).identifier = { value: 'x' }), /^Bundle\.entry\[\d+\]\.resource\.identifier/],
      [(m) => ((m.entry?.at(-1)?.resource as unknown as Record<string, unknown>).identifier = 'x'), /^Bundle\.entry\[\d+\]\.resource\.identifier/],
      [(m) => ((m as unknown as Record<string, unknown>).identifier = 5), /^Bundle\.identifier/],
    ];
    for (const [breakIt, where] of broken) {
      const message = eps('gp-acute-nominated-pharmacy');
      message.identifier = { system: 'https://tools.ietf.org/html/rfc4122', value: crypto.randomUUID() };
      breakIt(message);
      const res = await send(message);
      expect(res.status, JSON.stringify(res.body).slice(0, 300)).to.equal(400);
      expect(res.body.issue[0].expression[0]).to.match(where);
    }
    expect((await server().fhir('GET', 'MedicationRequest?_summary=count')).body.total).to.equal(before);
  });

  it('error-invalid-checksum is rejected for its prescription id check character, and nothing is stored', async () => {
    const before = (await server().fhir('GET', 'MedicationRequest?_summary=count')).body.total;
    const res = await send(eps('error-invalid-checksum'));
    expect(res.status).to.equal(400);
    expect(res.body.issue[0].diagnostics).to.contain('check character');
    expect(res.body.issue[0].expression[0]).to.match(/^Bundle\.entry\[\d+\]\.resource\.groupIdentifier\.value$/);
    expect((await server().fhir('GET', 'MedicationRequest?_summary=count')).body.total).to.equal(before);
  });

  it('error-invalid-intent is rejected for its intent', async () => {
    const res = await send(eps('error-invalid-intent'));
    expect(res.status).to.equal(400);
    expect(res.body.issue[0].expression[0]).to.match(/\.intent$/);
  });

  it('a prescription with more than 4 MedicationRequests is rejected', async () => {
    const message = eps('gp-acute-nominated-pharmacy');
    const extra = structuredClone(message.entry?.[1])!;
    // Its own fullUrl: a Bundle names each entry once (bdl-7), which the message is checked for first.
    extra.fullUrl = `urn:uuid:${crypto.randomUUID()}`;
    message.entry?.splice(1, 0, extra);
    message.identifier = { value: 'five-items' };
    const res = await send(message);
    expect(res.status).to.equal(400);
    expect(res.body.issue[0].diagnostics).to.contain('1 to 4');
  });

  it('MedicationRequests that disagree on the patient are rejected', async () => {
    const message = eps('gp-acute-nominated-pharmacy');
    message.identifier = { value: 'disagreeing' };
    medicationRequests(message)[1].subject = { reference: 'urn:uuid:00000000-0000-0000-0000-000000000000' };
    const res = await send(message);
    expect(res.status).to.equal(400);
    expect(res.body.issue[0].expression[0]).to.match(/\.subject$/);
  });

  it('a cancellation (prescription-order-update) sets status cancelled with the statusReason on the same MedicationRequests', async () => {
    const order = eps('gp-acute-nominated-pharmacy');
    const itemId = medicationRequests(order)[0].identifier?.[0].value as string;
    const before = (await server().fhir('GET', `MedicationRequest?identifier=${itemId}`)).body.entry[0].resource;
    const res = await send(cancellationOf(order));
    expect(res.status, JSON.stringify(res.body)).to.equal(200);
    const after = (await server().fhir('GET', `MedicationRequest?identifier=${itemId}`)).body.entry;
    expect(after).to.have.length(1);
    expect(after[0].resource.id).to.equal(before.id);
    expect(after[0].resource.status).to.equal('cancelled');
    expect(after[0].resource.statusReason.coding[0].code).to.equal('0001');
  });

  it('a BaRS booking-request creates the Appointment', async () => {
    const res = await send(sharedExample('bars/booking-request.json'));
    expect(res.status, JSON.stringify(res.body)).to.equal(200);
    const appointments = await server().fhir('GET', 'Appointment?date=2021-10-12');
    expect(appointments.body.entry).to.have.length(1);
    expect(appointments.body.entry[0].resource.participant[0].actor.reference).to.match(/^Patient\//);
  });

  it('a Bundle that is not a message is 400', async () => {
    const res = await send({ resourceType: 'Bundle', type: 'collection' });
    expect(res.status).to.equal(400);
  });
});

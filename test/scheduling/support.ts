import { expect } from 'chai';
import { fixture } from '../support/examples.js';
import type { FhirReply, TestServer } from '../support/server.js';

export const WINDOW = 'start=2027-03-01T00:00:00Z&end=2027-03-02T00:00:00Z';
export const OVERLAP_INTENDED = 'https://fhir.neighbourhood-hub.example/StructureDefinition/overlap-intended';
export const SAME_DAY_SAME_SITE = 'https://fhir.neighbourhood-hub.example/StructureDefinition/same-day-same-site';

/** Schedules, slots, sites and two patients (fixtures/scheduling). */
export async function loadAvailability(server: TestServer): Promise<void> {
  const res = await server.fhir('POST', '', { body: fixture('scheduling/neighbourhood-availability-transaction.json') });
  expect(res.status, JSON.stringify(res.body).slice(0, 600)).to.equal(200);
}

/** An Appointment taking these slots (start and end from the first and last) for a patient. */
export function appointment(status: string, patient: string, slots: Array<{ id: string; start: string; end: string }>, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    resourceType: 'Appointment',
    status,
    start: slots[0].start,
    end: slots[slots.length - 1].end,
    slot: slots.map((s) => ({ reference: `Slot/${s.id}` })),
    participant: [{ actor: { reference: `Patient/${patient}` }, status: 'accepted' }],
    ...extra,
  };
}

export async function slot(server: TestServer, id: string): Promise<{ id: string; start: string; end: string; status: string }> {
  const res = await server.fhir('GET', `Slot/${id}`);
  expect(res.status).to.equal(200);
  return res.body;
}

export function parameters(...parameter: Array<Record<string, unknown>>): Record<string, unknown> {
  return { resourceType: 'Parameters', parameter };
}

export function slotsOf(reply: FhirReply): string[] {
  return (reply.body.entry ?? []).map((e: { resource: { slot: Array<{ reference: string }> } }) => e.resource.slot.map((s) => s.reference).join('+'));
}

export function fatal(reply: FhirReply): string {
  const issue = reply.body?.issue?.[0];
  expect(issue?.severity, JSON.stringify(reply.body)).to.equal('fatal');
  return String(issue.diagnostics);
}

import { expect } from 'chai';
import type { Appointment } from '@medplum/fhirtypes';
import { WrittenHere } from '../../server/store/written-here.js';

// What a transaction wrote, as the write rules ask it instead of reading back (server/store/written-here.ts).

const visit = (id: string, ...actors: string[]): Appointment & { id: string } => ({ resourceType: 'Appointment', id, status: 'booked', participant: actors.map((reference) => ({ actor: { reference }, status: 'accepted' })) });
const ids = (here: WrittenHere, target: string): string[] => here.referringTo('Appointment', target).map((r) => r.id as string);

describe('store: what a transaction wrote (WrittenHere)', () => {
  it('only a create makes a resource new here; an update-as-create does not', () => {
    const here = new WrittenHere();
    here.noteCreate({ resourceType: 'Patient', id: 'p1' });
    here.noteUpdate({ resourceType: 'Patient', id: 'p2' });
    expect([here.isNew('Patient', 'p1'), here.isNew('Patient', 'p2'), here.isNew('Practitioner', 'p1')]).to.deep.equal([true, false, false]);
  });

  it('finds the live resources referring to a target in any literal form, and follows later updates and deletes', () => {
    const here = new WrittenHere();
    here.noteCreate(visit('a1', 'Patient/p1'));
    here.noteCreate(visit('a2', 'https://elsewhere.example/fhir/Patient/p1/_history/3', 'Location/l1'));
    here.noteCreate(visit('a3', 'Patient/p2'));
    expect(ids(here, 'Patient/p1')).to.deep.equal(['a1', 'a2']);
    // Asked once, the index is kept up to date from then on.
    here.noteUpdate(visit('a1', 'Patient/p2'));
    here.noteDelete('Appointment', 'a2');
    here.noteCreate(visit('a4', 'Patient/p1'));
    expect(ids(here, 'Patient/p1')).to.deep.equal(['a4']);
    expect(ids(here, 'Patient/p2').sort()).to.deep.equal(['a1', 'a3']);
    expect(ids(here, 'Location/l1')).to.deep.equal([]);
    expect(here.referringTo('MedicationRequest', 'Patient/p1')).to.deep.equal([]);
  });
});

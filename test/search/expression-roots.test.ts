import { expect } from 'chai';
import type { Resource } from '@medplum/fhirtypes';
import { createSearchEngine } from '../../server/search/engine.js';
import { presentElements } from '../../server/search/expression-roots.js';
import { extractRows } from '../../server/search/extract.js';
import type { SearchRegistry } from '../../server/search/registry.js';
import { fixtureResources } from '../support/fixture-resources.js';

/** Values that only a path from an absent element, a choice type, or an extension-only primitive would reach. */
const EDGES: Resource[] = [
  { resourceType: 'Patient', id: 'e1', _birthDate: { extension: [{ url: 'http://hl7.org/fhir/StructureDefinition/data-absent-reason', valueCode: 'unknown' }] } } as Resource,
  { resourceType: 'Patient', id: 'e2', deceasedBoolean: false },
  { resourceType: 'Patient', id: 'e3', deceasedDateTime: '2020-01-01' },
  { resourceType: 'Patient', id: 'e4' },
  { resourceType: 'Observation', id: 'e5', status: 'final', code: { text: 'x' }, valueString: 'high', effectivePeriod: { start: '2024-01-01' } },
  { resourceType: 'Observation', id: 'e6', status: 'final', code: { coding: [{ system: 'http://loinc.org', code: '8480-6' }] }, valueQuantity: { value: 120, code: 'mm[Hg]', system: 'http://unitsofmeasure.org' } },
  { resourceType: 'Appointment', id: 'e7', status: 'booked', participant: [{ actor: { reference: 'Patient/e1' }, status: 'accepted' }] },
];

describe('search index: expressions from elements a resource does not have are not evaluated', function () {
  this.timeout(120_000);
  const engine = createSearchEngine({ defaultCount: 20, maxCount: 100 });
  const registry = (engine as unknown as { registry: SearchRegistry }).registry;
  // The same parameters without what they start from: every expression is evaluated.
  const everything = { params: (type: string) => registry.params(type).map(({ roots: _roots, ...def }) => def) } as unknown as SearchRegistry;

  it('the index rows are exactly those of evaluating every expression, for every fixture and edge case', () => {
    const resources = [...fixtureResources(), ...EDGES];
    expect(resources.length).to.be.greaterThan(200);
    for (const resource of resources) {
      expect(extractRows(registry, resource), `${resource.resourceType}/${resource.id}`).to.deep.equal(extractRows(everything, resource));
    }
  });

  it('most parameters start from top-level elements; those that can yield a value from nothing have no roots', () => {
    const patient = registry.params('Patient');
    expect(patient.find((d) => d.code === 'family')?.roots).to.deep.equal(new Set(['name']));
    expect(patient.find((d) => d.code === 'phone')?.roots).to.deep.equal(new Set(['telecom']));
    // `Patient.deceased.exists() and Patient.deceased != false` is false for a Patient without it.
    expect(patient.find((d) => d.code === 'deceased')?.roots).to.equal(undefined);
    expect(registry.params('Observation').find((d) => d.code === 'value-quantity')?.roots).to.deep.equal(new Set(['value']));
  });

  it('a choice element is present under its name in a path, and a primitive with only extensions is present', () => {
    const names = presentElements({ resourceType: 'Patient', deceasedBoolean: false, _birthDate: {} });
    expect([...names]).to.include.members(['deceased', 'deceasedBoolean', 'birthDate']);
  });
});

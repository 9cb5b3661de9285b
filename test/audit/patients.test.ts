import { expect } from 'chai';
import { evalFhirPathTyped, getParsedExpressionForResourceType, getSearchParameter, toTypedValue } from '@medplum/core';
import type { Resource } from '@medplum/fhirtypes';
import { compartmentExpressionsFor, patientIdsOf } from '../../server/audit/patients.js';
import { patientCompartmentParams } from '../../server/fhir/patient-compartment.js';
import { idOf } from '../../server/fhir/reference.js';
import { createSearchEngine } from '../../server/search/engine.js';
import { fixtureResources } from '../support/fixture-resources.js';

/** The patients named by evaluating every compartment expression of the resource's type, none skipped. */
function patientsByEveryExpression(resource: Resource): string[] {
  const ids = new Set<string>();
  if (resource.resourceType === 'Patient' && resource.id) ids.add(resource.id);
  const root = toTypedValue(resource);
  for (const code of patientCompartmentParams().get(resource.resourceType) ?? []) {
    const expression = getSearchParameter(resource.resourceType, code)?.expression;
    if (!expression) continue;
    let values;
    try {
      values = evalFhirPathTyped(getParsedExpressionForResourceType(resource.resourceType, expression), [root], { '%resource': root, '%context': root });
    } catch {
      continue;
    }
    for (const { value } of values) {
      const id = typeof value?.reference === 'string' ? idOf(value.reference, 'Patient') : undefined;
      if (id) ids.add(id);
    }
  }
  return [...ids].sort();
}

describe('audit: the patients a resource names, without evaluating what cannot name one', () => {
  // The search registry fills @medplum/core's parameter index, where the compartment expressions come from.
  before(() => createSearchEngine({ defaultCount: 20, maxCount: 100 }));

  it('a Patient without links is its own patient, with no expression evaluated; with a link, its one expression is', () => {
    const alone: Resource = { resourceType: 'Patient', id: 'p1', name: [{ family: 'Okafor' }] };
    expect(compartmentExpressionsFor(alone)).to.have.length(0);
    expect(patientIdsOf(alone)).to.deep.equal(['p1']);
    const linked: Resource = { resourceType: 'Patient', id: 'p2', link: [{ other: { reference: 'Patient/p3' }, type: 'seealso' }] };
    expect(compartmentExpressionsFor(linked)).to.have.length(1);
    expect(patientIdsOf(linked).sort()).to.deep.equal(['p2', 'p3']);
  });

  it('an Observation is judged by the elements it has: subject, not performer', () => {
    const observation: Resource = { resourceType: 'Observation', id: 'o1', status: 'final', code: { text: 'BP' }, subject: { reference: 'Patient/p1' } };
    expect(compartmentExpressionsFor(observation).length).to.be.lessThan(patientCompartmentParams().get('Observation')!.length);
    expect(patientIdsOf(observation)).to.deep.equal(['p1']);
  });

  it('names exactly the patients every expression names, for every fixture resource', () => {
    const resources = fixtureResources();
    expect(resources.length).to.be.greaterThan(200);
    for (const resource of resources) {
      expect([...patientIdsOf(resource)].sort(), `${resource.resourceType}/${resource.id}`).to.deep.equal(patientsByEveryExpression(resource));
    }
  });
});

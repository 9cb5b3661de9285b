import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Bundle } from '@medplum/fhirtypes';
import { BundleFile } from '../../server/fhir/bundle-file';
import { coreStructureKind, coreStructureReader, loadR4Definitions } from '../../server/fhir/r4-definitions';

const TRICKY = path.join(__dirname, '..', '..', 'fixtures', 'definitions', 'bundle-with-tricky-strings.json');

describe('definitions read one Bundle entry at a time', () => {
  it('yields each entry resource in order, as JSON.parse of the whole file does, despite braces, quotes and non-ASCII text in strings', () => {
    const whole = JSON.parse(readFileSync(TRICKY, 'utf8')) as Bundle;
    const read = [...new BundleFile(TRICKY).resources()].map(([resource]) => resource);
    expect(read).to.deep.equal(whole.entry!.map((e) => e.resource));
  });

  it('reads an entry again from where it lies in the file', () => {
    const file = new BundleFile(TRICKY);
    for (const [resource, span] of [...file.resources()]) expect(file.read(span)).to.deep.equal(resource);
  });

  it('finds the R4 core definitions without holding them: resource types, kinds, StructureDefinitions, ValueSets and CodeSystems', () => {
    const r4 = loadR4Definitions();
    expect(r4.resourceTypes.has('Patient')).to.equal(true);
    expect(r4.resourceTypes.has('DomainResource')).to.equal(false);
    expect(coreStructureKind('http://hl7.org/fhir/StructureDefinition/HumanName')).to.equal('complex-type');
    expect(coreStructureKind('http://hl7.org/fhir/StructureDefinition/patient-birthPlace')).to.equal('complex-type');
    const read = coreStructureReader();
    const patient = read('http://hl7.org/fhir/StructureDefinition/Patient');
    expect(patient?.snapshot?.element?.[0].path).to.equal('Patient');
    expect(read('http://hl7.org/fhir/StructureDefinition/Patient')).to.equal(patient); // parsed once per reader
    expect(read('http://example.org/none')).to.equal(undefined);
    expect(r4.valueSet('http://hl7.org/fhir/ValueSet/administrative-gender')?.compose?.include?.[0].system).to.equal('http://hl7.org/fhir/administrative-gender');
    expect(r4.codeSystem('http://terminology.hl7.org/CodeSystem/v3-ActCode')?.resourceType).to.equal('CodeSystem');
    expect(r4.valueSet('http://example.org/none')).to.equal(undefined);
  });
});

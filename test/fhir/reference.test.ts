import { expect } from 'chai';
import { conditionalReference, containedId, idOf, isBundleLocal, parseLiteral, parseLocal, parseRelative } from '../../server/fhir/reference.js';

/** One parser for Reference.reference (https://hl7.org/fhir/R4/references.html#literal), read the same way by every layer. */
describe('FHIR references: one parser', () => {
  it('reads relative, versioned and absolute literal references', () => {
    expect(parseLiteral('Patient/1')).to.deep.equal({ resourceType: 'Patient', id: '1' });
    expect(parseLiteral('Patient/1/_history/2')).to.deep.equal({ resourceType: 'Patient', id: '1', version: '2' });
    expect(parseLiteral('https://hub.example/fhir/Patient/a-1.b/_history/3')).to.deep.equal({ resourceType: 'Patient', id: 'a-1.b', version: '3', base: 'https://hub.example/fhir' });
  });

  it('a version is an id: `_history/` with nothing, a slash or other characters after it is no literal reference', () => {
    for (const bad of ['Patient/1/_history/', 'Patient/1/_history/2/x', 'Patient/1/_history/a b', 'Patient/1/x', 'patient/1', 'Patient/', 'foo/Patient/1', `Patient/${'x'.repeat(65)}`]) {
      expect(parseLiteral(bad), bad).to.equal(undefined);
    }
  });

  it('urn:uuid, urn:oid, contained and conditional references are not literal ones', () => {
    for (const other of ['urn:uuid:0d8ab4b2-7d2c-4f5e-9c55-4e3c6a8b0c11', 'urn:oid:1.2.3', '#med1', 'Patient?identifier=x|1']) expect(parseLiteral(other), other).to.equal(undefined);
    expect(isBundleLocal('urn:uuid:0d8ab4b2-7d2c-4f5e-9c55-4e3c6a8b0c11')).to.equal(true);
    expect(isBundleLocal('urn:oid:1.2.3')).to.equal(true);
    expect(isBundleLocal('Patient/1')).to.equal(false);
    expect(containedId('#med1')).to.equal('med1');
    expect(containedId('Medication/med1')).to.equal(undefined);
    expect(conditionalReference('Patient?identifier=x|1')?.type).to.equal('Patient');
    expect(conditionalReference('Patient?identifier=x|1')?.criteria.get('identifier')).to.equal('x|1');
  });

  it('relative, local (this server) and any-base readings', () => {
    const base = 'https://hub.example/fhir';
    expect(parseRelative(`${base}/Patient/1`)).to.equal(undefined);
    expect(parseRelative('Patient/1/_history/2')?.id).to.equal('1');
    expect(parseLocal(`${base}/Patient/1/_history/2`, base)?.id).to.equal('1');
    expect(parseLocal('https://elsewhere.example/fhir/Patient/1', base)).to.equal(undefined);
    expect(idOf('https://elsewhere.example/fhir/Patient/1/_history/2', 'Patient')).to.equal('1');
    expect(idOf('Organization/1', 'Patient')).to.equal(undefined);
    expect(idOf(undefined, 'Patient')).to.equal(undefined);
  });
});

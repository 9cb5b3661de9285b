import { expect } from 'chai';
import type { CodeSystem, ValueSet } from '@medplum/fhirtypes';
import { expandFetching, expandWith, type Needed } from '../../server/fhir/valueset-expansion.js';

/** One expander, two readings: search takes what it can, validation every code or none (https://hl7.org/fhir/R4/valueset.html#expansion). */
describe('ValueSet expansion: one expander for search and validation', () => {
  const colours: CodeSystem = { resourceType: 'CodeSystem', url: 'http://example.org/colours', status: 'active', content: 'complete', concept: [{ code: 'red', display: 'Red', concept: [{ code: 'crimson' }] }, { code: 'blue' }] };
  const shades: ValueSet = { resourceType: 'ValueSet', url: 'http://example.org/vs/shades', status: 'active', compose: { include: [{ system: colours.url, concept: [{ code: 'red' }] }] } };
  const held = new Map<string, ValueSet | CodeSystem>([colours, shades].map((r) => [`${r.resourceType}|${r.url}`, r]));
  const lookup = ({ type, url }: Needed): ValueSet | CodeSystem | undefined => held.get(`${type}|${url}`);

  it('a whole complete code system, with displays for validation', () => {
    const all: ValueSet = { resourceType: 'ValueSet', status: 'active', compose: { include: [{ system: colours.url }] } };
    expect(expandWith(all, lookup, true)).to.deep.equal([
      { system: colours.url, code: 'red', display: 'Red' },
      { system: colours.url, code: 'crimson', display: undefined },
      { system: colours.url, code: 'blue', display: undefined },
    ]);
    expect(expandWith(all, lookup, false)).to.deep.equal([
      { system: colours.url, code: 'red' },
      { system: colours.url, code: 'crimson' },
      { system: colours.url, code: 'blue' },
    ]);
  });

  it('filters, imported ValueSets and exclusions: search takes what it can, validation gives up', () => {
    const mixed: ValueSet = {
      resourceType: 'ValueSet',
      status: 'active',
      compose: {
        include: [{ system: colours.url }, { system: colours.url, filter: [{ property: 'concept', op: 'is-a', value: 'red' }] }, { valueSet: [shades.url!] }],
        exclude: [{ system: colours.url, concept: [{ code: 'blue' }] }],
      },
    };
    expect(expandWith(mixed, lookup, true)).to.equal(undefined);
    expect(expandWith(mixed, lookup, false)?.map((c) => c.code)).to.deep.equal(['red', 'crimson', 'red']);
  });

  it('a stored expansion is read by search; a code system held only in part fails validation', () => {
    const stored: ValueSet = { resourceType: 'ValueSet', status: 'active', expansion: { timestamp: '2024-01-01', contains: [{ system: 'http://x', code: 'a' }, { display: 'no code' }] } };
    expect(expandWith(stored, lookup, false)).to.deep.equal([{ system: 'http://x', code: 'a' }]);
    const fragment: CodeSystem = { ...colours, url: 'http://example.org/fragment', content: 'fragment' };
    held.set(`CodeSystem|${fragment.url}`, fragment);
    const whole: ValueSet = { resourceType: 'ValueSet', status: 'active', compose: { include: [{ system: fragment.url }] } };
    expect(expandWith(whole, lookup, true)).to.equal(undefined);
    expect(expandWith(whole, lookup, false)?.length).to.equal(3);
  });

  it('the fetching driver asks for the same resources and gives the same expansion', async () => {
    const asked: string[] = [];
    const all: ValueSet = { resourceType: 'ValueSet', status: 'active', compose: { include: [{ system: colours.url }, { valueSet: [shades.url!] }] } };
    const fetched = await expandFetching(all, async (needed) => (asked.push(`${needed.type}|${needed.url}`), lookup(needed)), false);
    expect(fetched).to.deep.equal(expandWith(all, lookup, false));
    expect(asked).to.deep.equal([`CodeSystem|${colours.url}`, `ValueSet|${shades.url}`]);
  });
});

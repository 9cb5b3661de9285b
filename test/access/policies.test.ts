import { expect } from 'chai';
import { copyFileSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadPolicies } from '../../server/access/policy.js';
import { AccessCompiler } from '../../server/access/request-access.js';
import { createSearchEngine } from '../../server/search/engine.js';

const SHIPPED = path.join(__dirname, '..', '..', 'server', 'access', 'policies');

/** The shipped policies with one file replaced. */
function policiesWith(file: string, policy: unknown): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'hub-policies-'));
  for (const f of readdirSync(SHIPPED)) copyFileSync(path.join(SHIPPED, f), path.join(dir, f));
  writeFileSync(path.join(dir, file), JSON.stringify(policy));
  return dir;
}

describe('access: declarative policies are checked when the server starts', function () {
  this.timeout(30_000);
  const search = createSearchEngine({ defaultCount: 20, maxCount: 100 });

  it('the shipped policies load and compile for every member kind', () => {
    const policies = loadPolicies();
    expect([...policies.keys()].sort()).to.deep.equal(['admin', 'care-provider', 'gp-practice', 'pharmacy', 'voluntary']);
    expect(() => new AccessCompiler(search, policies)).to.not.throw();
  });

  it('a rule naming an unknown set, sets in a cycle, or bad permission letters stop the start', () => {
    const base = { kind: 'voluntary', description: 'x' };
    expect(() => loadPolicies(policiesWith('voluntary.json', { ...base, rules: [{ types: ['Patient'], interactions: 'rs', inSet: 'nope' }] }))).to.throw(/unknown set 'nope'/);
    const cycle = { a: { type: 'Patient', match: [{ referencedBy: { param: 'patient', set: 'b' } }] }, b: { type: 'CareTeam', match: [{ refersTo: { param: 'patient', sets: ['a'] } }] } };
    expect(() => loadPolicies(policiesWith('voluntary.json', { ...base, sets: cycle, rules: [] }))).to.throw(/cycle/);
    expect(() => loadPolicies(policiesWith('voluntary.json', { ...base, rules: [{ types: ['Patient'], interactions: 'sr' }] }))).to.throw(/cruds/);
  });

  it('a criterion naming a search parameter the type does not have stops the start', () => {
    const policies = loadPolicies(policiesWith('voluntary.json', { kind: 'voluntary', description: 'x', rules: [{ types: ['Patient'], interactions: 'rs', match: [{ where: 'no-such-param=1' }] }] }));
    expect(() => new AccessCompiler(search, policies)).to.throw(/no-such-param/);
  });

  it('a rule reaching AuditEvents by anything but the patients they name stops the start: the trail keeps only those', () => {
    const withRule = (rule: object) => loadPolicies(policiesWith('voluntary.json', { kind: 'voluntary', description: 'x', rules: [rule] }));
    expect(() => new AccessCompiler(search, withRule({ types: ['AuditEvent'], interactions: 'rs', match: [{ where: 'action=R' }] }))).to.throw(/AuditEvents are judged only by the patients they name/);
    expect(() => new AccessCompiler(search, withRule({ types: ['*'], interactions: 'rs', match: [{ where: '_tag=x' }] }))).to.throw(/AuditEvents are judged only by the patients they name/);
    expect(() => new AccessCompiler(search, withRule({ types: ['AuditEvent'], interactions: 'rs' }))).to.not.throw();
  });

  it('every member kind needs a policy', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'hub-policies-'));
    copyFileSync(path.join(SHIPPED, 'sets.json'), path.join(dir, 'sets.json'));
    copyFileSync(path.join(SHIPPED, 'admin.json'), path.join(dir, 'admin.json'));
    expect(() => loadPolicies(dir)).to.throw(/No access policy for client kind/);
  });
});

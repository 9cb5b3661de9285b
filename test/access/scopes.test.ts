import { expect } from 'chai';
import { grantOf, scopeAllows } from '../../server/access/scopes.js';

describe('access: SMART system scopes per interaction and type', () => {
  it('v2 letters grant exactly those permissions, on the type or on every type', () => {
    const g = grantOf(['system/Patient.rs', 'system/Observation.cu']);
    expect(scopeAllows(g, 'Patient', 'r')).to.equal(true);
    expect(scopeAllows(g, 'Patient', 's')).to.equal(true);
    expect(scopeAllows(g, 'Patient', 'u')).to.equal(false);
    expect(scopeAllows(g, 'Observation', 'c')).to.equal(true);
    expect(scopeAllows(g, 'Observation', 'r')).to.equal(false);
    expect(scopeAllows(grantOf(['system/*.cruds']), 'CareTeam', 'd')).to.equal(true);
  });

  it('v1 read, write and * are accepted', () => {
    const g = grantOf(['system/*.read', 'system/Appointment.write']);
    expect(scopeAllows(g, 'CareTeam', 'r') && scopeAllows(g, 'CareTeam', 's')).to.equal(true);
    expect(scopeAllows(g, 'CareTeam', 'c')).to.equal(false);
    expect(scopeAllows(g, 'Appointment', 'u')).to.equal(true);
    expect(scopeAllows(grantOf(['system/Patient.*']), 'Patient', 'd')).to.equal(true);
  });

  it('patient/ and user/ scopes, query-narrowed scopes and out-of-order letters grant nothing to a backend client', () => {
    const g = grantOf(['patient/*.cruds', 'user/Patient.rs', 'system/Observation.rs?category=vital-signs', 'system/Patient.sr']);
    expect(['Patient', 'Observation'].some((t) => ['c', 'r', 'u', 'd', 's'].some((p) => scopeAllows(g, t, p as 'r')))).to.equal(false);
  });
});

import { expect } from 'chai';
import { grantScopes, isResourceScope } from '../../server/auth/token-scopes.js';

describe('grantScopes (requested scopes narrowed to registered ones)', () => {
  it('grants everything registered when nothing is requested', () => {
    expect(grantScopes(undefined, ['system/*.cruds', 'system/Patient.rs'])).to.deep.equal(['system/*.cruds', 'system/Patient.rs']);
  });

  it('grants v2 and v1 scopes a wildcard registration covers, as asked', () => {
    expect(grantScopes(['system/Patient.rs', 'system/*.read', 'system/*.write', 'system/*.*', 'system/Observation.cud'], ['system/*.cruds'])).to.deep.equal([
      'system/Patient.rs',
      'system/*.read',
      'system/*.write',
      'system/*.*',
      'system/Observation.cud',
    ]);
  });

  it('reads a registered v1 scope as its v2 permissions', () => {
    expect(grantScopes(['system/Patient.rs', 'system/Patient.c'], ['system/*.read'])).to.deep.equal(['system/Patient.rs']);
    expect(grantScopes(['system/Patient.cruds'], ['system/*.write'])).to.deep.equal(['system/Patient.cud']);
  });

  it('narrows a wider request to the part registered', () => {
    expect(grantScopes(['system/*.cruds'], ['system/MedicationRequest.rs', 'system/Patient.r'])).to.deep.equal(['system/MedicationRequest.rs', 'system/Patient.r']);
    expect(grantScopes(['system/Patient.*'], ['system/Patient.rs'])).to.deep.equal(['system/Patient.rs']);
  });

  it('keeps query constraints and refuses conflicting ones', () => {
    expect(grantScopes(['system/Observation.rs?category=laboratory'], ['system/Observation.rs'])).to.deep.equal(['system/Observation.rs?category=laboratory']);
    expect(grantScopes(['system/Observation.rs'], ['system/Observation.rs?category=laboratory'])).to.deep.equal(['system/Observation.rs?category=laboratory']);
    expect(grantScopes(['system/Observation.rs?category=vital-signs'], ['system/Observation.rs?category=laboratory'])).to.deep.equal([]);
  });

  it('grants nothing for other types, contexts, permissions or malformed scopes', () => {
    expect(grantScopes(['system/Observation.rs', 'patient/Patient.rs', 'system/Patient.c', 'launch', 'system/Patient.sr', 'system/Patient.'], ['system/Patient.rs'])).to.deep.equal([]);
  });

  it('recognises SMART resource scopes', () => {
    expect(['system/*.cruds', 'system/Patient.read', 'user/Observation.rs?code=x'].every(isResourceScope)).to.equal(true);
    expect(['openid', 'system/Patient', 'system/Patient.rc', 'system/*.read?x=1'].some(isResourceScope)).to.equal(false);
  });
});

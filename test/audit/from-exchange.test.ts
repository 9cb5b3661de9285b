import { expect } from 'chai';
import type { Bundle } from '@medplum/fhirtypes';
import { auditRecordOf, MAX_PATIENTS } from '../../server/audit/from-exchange.js';
import type { Principal } from '../../server/auth/principal.js';
import { notFound } from '../../server/errors.js';
import type { FhirRequest } from '../../server/rest/request.js';
import { SearchRegistry } from '../../server/search/registry.js';

const principal: Principal = { clientId: 'c1', org: 'FA123', kind: 'pharmacy', scopes: [] };

function request(method: FhirRequest['method'], path: string, query = '', body?: unknown): FhirRequest {
  return { method, path, query: new URLSearchParams(query), headers: {}, body };
}

describe('audit record of an exchange', () => {
  before(function () {
    this.timeout(60_000);
    new SearchRegistry(); // indexes the search parameters patient compartment membership is read from
  });

  it('a read (stored JSON text) names the resource and its patient', () => {
    const body = JSON.stringify({ resourceType: 'Observation', id: 'o1', status: 'final', code: { text: 'x' }, subject: { reference: 'Patient/p1' } });
    const rec = auditRecordOf(request('GET', 'Observation/o1'), { status: 200, body }, undefined, principal, 'r1', '10.0.0.1');
    expect(rec).to.deep.include({ interaction: 'read', status: 200, resources: ['Observation/o1'], patients: ['p1'], requestId: 'r1', sourceAddress: '10.0.0.1', principal });
  });

  it('a read of a Patient names it and the patients it links to; a create names what its Location names', () => {
    const linked = JSON.stringify({ resourceType: 'Patient', id: 'p2', link: [{ other: { reference: 'Patient/p3' }, type: 'seealso' }] });
    expect(auditRecordOf(request('GET', 'Patient/p2'), { status: 200, body: linked }, undefined, principal, 'r1', undefined)).to.deep.include({ resources: ['Patient/p2'], patients: ['p2', 'p3'] });
    const alone = JSON.stringify({ resourceType: 'Patient', id: 'p4', name: [{ family: 'Okafor' }] });
    expect(auditRecordOf(request('GET', 'Patient/p4'), { status: 200, body: alone }, undefined, principal, 'r1', undefined)).to.deep.include({ resources: ['Patient/p4'], patients: ['p4'] });
    const created = JSON.stringify({ resourceType: 'Observation', id: 'o9', status: 'final', code: { text: 'x' } });
    const res = { status: 201, body: created, headers: { Location: 'http://x/fhir/Observation/o9/_history/1' } };
    const posted = { resourceType: 'Observation', status: 'final', code: { text: 'x' } };
    expect(auditRecordOf(request('POST', 'Observation', '', posted), res, undefined, principal, 'r1', undefined)).to.deep.include({ interaction: 'create', resources: ['Observation/o9'], patients: [] });
  });

  it('a search names every entry and the patients of its compartment, and keeps the query', () => {
    const bundle: Bundle = {
      resourceType: 'Bundle',
      type: 'searchset',
      entry: [
        { resource: { resourceType: 'Patient', id: 'p2' }, search: { mode: 'match' } },
        { resource: { resourceType: 'MedicationRequest', id: 'm1', status: 'active', intent: 'order', subject: { reference: 'Patient/p3' } } as never },
        { resource: { resourceType: 'OperationOutcome', issue: [] } },
      ],
    };
    const rec = auditRecordOf(request('GET', 'MedicationRequest', 'status=active'), { status: 200, body: bundle }, undefined, principal, undefined, undefined);
    expect(rec.interaction).to.equal('search');
    expect(rec.query).to.equal('status=active');
    expect(rec.resources).to.deep.equal(['Patient/p2', 'MedicationRequest/m1']);
    expect(rec.patients).to.have.members(['p2', 'p3']);
  });

  it('a search for one patient that finds nothing still names the patient', () => {
    const rec = auditRecordOf(request('GET', 'Observation', 'patient=p9'), { status: 200, body: { resourceType: 'Bundle', type: 'searchset' } }, undefined, principal, undefined, undefined);
    expect(rec.patients).to.deep.equal(['p9']);
  });

  it('paths map to interactions as the router routes them', () => {
    const cases: Array<[FhirRequest['method'], string, string, string?]> = [
      ['GET', 'Patient/p1/_history/2', 'vread'],
      ['GET', 'Patient/p1/_history', 'history'],
      ['GET', '_history', 'history'],
      ['GET', 'metadata', 'capabilities'],
      ['POST', 'Patient', 'create'],
      ['PUT', 'Patient/p1', 'update'],
      ['PATCH', 'Patient/p1', 'patch'],
      ['DELETE', 'Patient/p1', 'delete'],
      ['POST', 'Patient/_search', 'search'],
      ['POST', '_search', 'search'],
      ['GET', 'Patient/p1/Observation', 'search'],
      ['GET', 'Patient/p1/$everything', 'operation', '$everything'],
      ['POST', 'Patient/$match', 'operation', '$match'],
      ['POST', '$process-message', 'operation', '$process-message'],
    ];
    for (const [method, path, interaction, operation] of cases) {
      const rec = auditRecordOf(request(method, path), undefined, notFound('x'), principal, undefined, undefined);
      expect([rec.interaction, rec.operation], `${method} ${path}`).to.deep.equal([interaction, operation]);
    }
    const everything = auditRecordOf(request('GET', 'Patient/p1/$everything'), { status: 200, body: { resourceType: 'Bundle', type: 'searchset' } }, undefined, principal, undefined, undefined);
    expect(everything.patients).to.deep.equal(['p1']);
  });

  it('a transaction names what it wrote by location, and its request resources patients', () => {
    const req = request('POST', '', '', {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [{ resource: { resourceType: 'Observation', status: 'final', code: { text: 'x' }, subject: { reference: 'Patient/p4' } }, request: { method: 'POST', url: 'Observation' } }],
    });
    const res = { status: 200, body: { resourceType: 'Bundle', type: 'transaction-response', entry: [{ response: { status: '201', location: 'Observation/o9/_history/1' } }] } as Bundle };
    const rec = auditRecordOf(req, res, undefined, principal, undefined, undefined);
    expect(rec.interaction).to.equal('transaction');
    expect(rec.resources).to.deep.equal(['Observation/o9']);
    expect(rec.patients).to.deep.equal(['p4']);
  });

  it('an error is recorded with its status and text', () => {
    const rec = auditRecordOf(request('GET', 'Patient/nope'), undefined, notFound('Patient/nope is not known'), undefined, undefined, undefined);
    expect(rec).to.deep.include({ interaction: 'read', status: 404, resources: ['Patient/nope'], patients: ['nope'], description: 'Patient/nope is not known' });
    expect(rec.principal).to.equal(undefined);
  });

  it('a large page names at most MAX_PATIENTS patients', () => {
    const entry = Array.from({ length: 300 }, (_, i) => ({ resource: { resourceType: 'Patient' as const, id: `p${i}` } }));
    const rec = auditRecordOf(request('GET', 'Patient'), { status: 200, body: { resourceType: 'Bundle', type: 'searchset', entry } }, undefined, principal, undefined, undefined);
    expect(rec.patients).to.have.length(MAX_PATIENTS);
  });
});

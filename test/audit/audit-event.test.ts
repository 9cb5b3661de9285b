import { expect } from 'chai';
import type { AuditEvent } from '@medplum/fhirtypes';
import { auditEventOf, CLIENT_SYSTEM } from '../../server/audit/audit-event.js';
import type { AuditInteraction, AuditRecord } from '../../server/audit/record.js';
import type { Principal } from '../../server/auth/principal.js';
import { ODS_SYSTEM } from '../../server/auth/principal.js';
import { validateResource } from '../../profiles/validator.js';

const principal: Principal = { clientId: 'gp-emis-1', org: 'A81001', kind: 'gp-practice', scopes: ['system/*.rs'] };
const now = new Date('2025-03-01T10:00:00Z');

function record(overrides: Partial<AuditRecord> = {}): AuditRecord {
  return { interaction: 'read', principal, status: 200, resources: ['Observation/o1'], patients: ['p1'], requestId: 'req-1', sourceAddress: '10.0.0.7', ...overrides };
}

describe('AuditEvent shape (BALP)', () => {
  it('a read of patient data names the client, the organisation, the server, the patient and the resource, and validates', () => {
    const event = auditEventOf(record(), now, 'hub.example.org');
    validateResource(event);
    expect(event.type).to.deep.include({ system: 'http://terminology.hl7.org/CodeSystem/audit-event-type', code: 'rest' });
    expect(event.subtype).to.deep.include({ system: 'http://hl7.org/fhir/restful-interaction', code: 'read' });
    expect(event.action).to.equal('R');
    expect(event.outcome).to.equal('0');
    expect(event.recorded).to.equal(now.toISOString());

    const client = event.agent.find((a) => a.requestor)!;
    expect(client.who?.identifier).to.deep.equal({ system: CLIENT_SYSTEM, value: 'gp-emis-1' });
    expect(client.altId).to.equal('gp-emis-1');
    expect(client.network).to.deep.equal({ address: '10.0.0.7', type: '2' });
    // BALP Read: the data goes to the client (Destination Role ID), from the server (Source Role ID).
    expect(client.type?.coding?.[0].code).to.equal('110152');
    expect(event.agent.find((a) => a.network?.address === 'hub.example.org')?.type?.coding?.[0].code).to.equal('110153');
    expect(event.agent.some((a) => a.who?.identifier?.system === ODS_SYSTEM && a.who.identifier.value === 'A81001')).to.equal(true);
    expect(event.agent.some((a) => a.network?.address === 'hub.example.org')).to.equal(true);

    const patient = event.entity!.find((e) => e.what?.reference === 'Patient/p1')!;
    expect(patient.type?.code).to.equal('1');
    expect(patient.role?.code).to.equal('1');
    const other = event.entity!.find((e) => e.what?.reference === 'Observation/o1')!;
    expect(other.type?.code).to.equal('2');
  });

  it('a search is a BALP Query: a Restful Operation executed, the client its source, the query string base64 in a query entity', () => {
    const event = auditEventOf(record({ interaction: 'search', query: 'patient=Patient/p1&code=1234' }), now, 'hub.example.org');
    validateResource(event);
    expect([event.type.code, event.subtype?.[0].code, event.action]).to.deep.equal(['rest', 'search', 'E']);
    expect(event.agent.find((a) => a.requestor)?.type?.coding?.[0].code).to.equal('110153');
    expect(event.agent.find((a) => a.network?.address === 'hub.example.org')?.type?.coding?.[0].code).to.equal('110152');
    const query = event.entity!.find((e) => e.role?.code === '24')!;
    expect(Buffer.from(query.query!, 'base64').toString()).to.equal('patient=Patient/p1&code=1234');
  });

  it('a Patient read or written is both the data entity and the patient entity (BALP PatientRead); one a search returned is the patient entity only', () => {
    for (const interaction of ['read', 'create', 'update', 'delete'] as const) {
      const event = auditEventOf(record({ interaction, resources: ['Patient/p1'], patients: ['p1'] }), now);
      const named = event.entity!.filter((e) => e.what?.reference === 'Patient/p1');
      expect(named.map((e) => [e.type?.code, e.role?.code]), interaction).to.have.deep.members([
        ['2', '4'],
        ['1', '1'],
      ]);
    }
    const search = auditEventOf(record({ interaction: 'search', resources: ['Patient/p1'], patients: ['p1'] }), now);
    expect(search.entity!.filter((e) => e.what?.reference === 'Patient/p1').map((e) => e.type?.code)).to.deep.equal(['1']);
  });

  it('create, update and delete keep the request direction: the client is the source, the server the destination', () => {
    for (const interaction of ['create', 'update', 'patch', 'delete'] as const) {
      const event = auditEventOf(record({ interaction }), now, 'hub.example.org');
      expect(event.type.code, interaction).to.equal('rest');
      expect(event.agent.find((a) => a.requestor)?.type?.coding?.[0].code, interaction).to.equal('110153');
      expect(event.agent.find((a) => a.network?.address === 'hub.example.org')?.type?.coding?.[0].code, interaction).to.equal('110152');
    }
  });

  it('refused and failed interactions carry the outcome and why', () => {
    const denied = auditEventOf(record({ status: 403 }), now);
    expect([denied.outcome, denied.outcomeDesc]).to.deep.equal(['4', 'Access denied']);
    const failed = auditEventOf(record({ status: 500, description: 'boom' }), now);
    expect([failed.outcome, failed.outcomeDesc]).to.deep.equal(['8', 'boom']);
    const anonymous = auditEventOf(record({ principal: undefined, status: 401 }), now);
    validateResource(anonymous);
    expect(anonymous.outcome).to.equal('4');
  });

  it('every interaction, token issue and notification included, makes a valid event', () => {
    const interactions: AuditInteraction[] = ['read', 'vread', 'search', 'history', 'create', 'update', 'patch', 'delete', 'operation', 'batch', 'transaction', 'capabilities', 'token', 'notification'];
    for (const interaction of interactions) {
      const event: AuditEvent = auditEventOf(
        record({ interaction, operation: interaction === 'operation' ? '$everything' : undefined, subscription: interaction === 'notification' ? 'Subscription/s1' : undefined, status: interaction === 'notification' ? 0 : 200 }),
        now,
      );
      validateResource(event);
    }
    const token = auditEventOf(record({ interaction: 'token', resources: [], patients: [] }), now);
    expect([token.type.code, token.subtype![0].code]).to.deep.equal(['110114', '110122']);
    const notification = auditEventOf(record({ interaction: 'notification', subscription: 'Subscription/s1', status: 0 }), now);
    expect(notification.outcome).to.equal('8');
    expect(notification.entity!.some((e) => e.what?.reference === 'Subscription/s1')).to.equal(true);
  });
});

import { expect } from 'chai';
import type { ClientKind } from '../../server/auth/principal.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { OTHER_PHARMACY_RX, seedAccessFixtures } from './support.js';

/**
 * The grid of the issue: each client kind × resource type × interaction, with a resource the kind
 * may use ("mine", where there is one) and one it may not ("other"). Reads and searches outside the
 * policy find nothing (404, empty searchset); writes outside it are 403 and change nothing.
 */
type Type = 'Patient' | 'Condition' | 'CareTeam' | 'MedicationRequest' | 'Appointment';
interface Row {
  mine?: string;
  other: string;
  /** May the kind update its own resource of this type? */
  update: boolean;
}

const GRID: Record<string, { kind: ClientKind; org: string; rows: Record<Type, Row> }> = {
  'GP practice (Meadow Lane: Derek)': {
    kind: 'gp-practice',
    org: 'B84002',
    rows: {
      Patient: { mine: 'pat-derek-brown', other: 'pat-aisha-khan', update: true },
      Condition: { mine: 'cond-derek-brown-1', other: 'cond-aisha-khan-1', update: true },
      CareTeam: { mine: 'ct-derek-brown', other: 'ct-margaret-jones', update: true },
      MedicationRequest: { mine: OTHER_PHARMACY_RX, other: 'rx-aisha-azithromycin', update: true },
      Appointment: { mine: 'appt-derek-mental-health', other: 'appt-margaret-mdt-review', update: true },
    },
  },
  'care provider (North Mental Health: Aisha, Derek)': {
    kind: 'care-provider',
    org: 'RGD01',
    rows: {
      Patient: { mine: 'pat-derek-brown', other: 'pat-margaret-jones', update: true },
      Condition: { mine: 'cond-aisha-khan-1', other: 'cond-margaret-jones-1', update: true },
      CareTeam: { mine: 'ct-aisha-khan', other: 'ct-margaret-jones', update: true },
      MedicationRequest: { mine: 'rx-aisha-azithromycin', other: 'rx-margaret-paracetamol', update: true },
      Appointment: { mine: 'appt-derek-mental-health', other: 'appt-margaret-mdt-review', update: true },
    },
  },
  'community pharmacy (High Street)': {
    kind: 'pharmacy',
    org: 'FA565',
    rows: {
      Patient: { mine: 'pat-aisha-khan', other: 'pat-derek-brown', update: false },
      Condition: { other: 'cond-aisha-khan-1', update: false },
      CareTeam: { other: 'ct-aisha-khan', update: false },
      MedicationRequest: { mine: 'rx-aisha-azithromycin', other: OTHER_PHARMACY_RX, update: true },
      Appointment: { other: 'appt-aisha-medication-review', update: false },
    },
  },
  'voluntary organisation (Good Neighbours: Margaret)': {
    kind: 'voluntary',
    org: 'NL0042',
    rows: {
      Patient: { mine: 'pat-margaret-jones', other: 'pat-aisha-khan', update: false },
      Condition: { other: 'cond-margaret-jones-1', update: false },
      CareTeam: { mine: 'ct-margaret-jones', other: 'ct-aisha-khan', update: false },
      MedicationRequest: { other: 'rx-margaret-paracetamol', update: false },
      Appointment: { other: 'appt-margaret-mdt-review', update: false },
    },
  },
};

describe('access grid: client kind × resource type × interaction', function () {
  this.timeout(120_000);
  let server: TestServer;
  const tokens: Record<string, string> = {};

  before(async () => {
    server = await startTestServer('postgres');
    await seedAccessFixtures(server.running.services.store);
    for (const [name, { kind, org }] of Object.entries(GRID)) tokens[name] = await server.clientToken({ kind, org, scopes: ['system/*.cruds'] });
  });
  after(() => server.stop());

  const current = async (type: string, id: string) => (await server.fhir('GET', `${type}/${id}`)).body;

  for (const [name, { rows }] of Object.entries(GRID)) {
    describe(name, () => {
      for (const [type, row] of Object.entries(rows) as [Type, Row][]) {
        it(`${type}: read, search, update and delete — allowed on its own, refused on another's`, async () => {
          const as = { as: tokens[name] };
          if (row.mine) {
            expect((await server.fhir('GET', `${type}/${row.mine}`, as)).status, `read own ${type}`).to.equal(200);
            const found = await server.fhir('GET', `${type}?_id=${row.mine}`, as);
            expect(found.body.entry?.length ?? 0, `search own ${type}`).to.equal(1);
            const before = await current(type, row.mine);
            const put = await server.fhir('PUT', `${type}/${row.mine}`, { ...as, body: before });
            expect(put.status, `update own ${type}`).to.equal(row.update ? 200 : 403);
          }
          expect((await server.fhir('GET', `${type}/${row.other}`, as)).status, `read other ${type}`).to.equal(404);
          expect((await server.fhir('GET', `${type}?_id=${row.other}`, as)).body.entry ?? [], `search other ${type}`).to.deep.equal([]);
          const before = await current(type, row.other);
          expect((await server.fhir('PUT', `${type}/${row.other}`, { ...as, body: before })).status, `update other ${type}`).to.equal(403);
          expect((await server.fhir('DELETE', `${type}/${row.other}`, as)).status, `delete other ${type}`).to.equal(403);
          expect((await current(type, row.other)).meta.versionId, `other ${type} unchanged`).to.equal(before.meta.versionId);
        });
      }
    });
  }
});

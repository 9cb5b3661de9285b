import { expect } from 'chai';
import { migrate } from '../../server/store/migrate.js';
import { describeEachDatabase } from '../support/server.js';

const RESTRICTION = 'https://fhir.neighbourhood-hub.example/StructureDefinition/booking-restriction';
const restriction = {
  url: RESTRICTION,
  extension: [
    { url: 'memberKind', valueCode: 'gp-practice' },
    {
      url: 'organization',
      valueIdentifier: { system: 'https://fhir.nhs.uk/Id/ods-organization-code', value: 'A81001', type: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v2-0203', code: 'XX' }] } },
    },
  ],
};

describeEachDatabase('migration 140: booking-restriction rows for Slots and Schedules written before the parameter', (server) => {
  it('writes the rows the token extractor writes, and leaves resources that have them as they are', async () => {
    const db = server().running.services.db;
    const schedule = (await server().fhir('POST', 'Schedule', { body: { resourceType: 'Schedule', actor: [{ reference: 'Location/restricted-rows' }], extension: [restriction] } })).body;
    const slot = (
      await server().fhir('POST', 'Slot', {
        body: { resourceType: 'Slot', schedule: { reference: `Schedule/${schedule.id}` }, status: 'free', start: '2031-02-03T09:00:00Z', end: '2031-02-03T09:15:00Z', extension: [restriction] },
      })
    ).body;
    const unrestricted = (await server().fhir('POST', 'Slot', { body: { resourceType: 'Slot', schedule: { reference: `Schedule/${schedule.id}` }, status: 'free', start: '2031-02-03T09:15:00Z', end: '2031-02-03T09:30:00Z' } })).body;
    const ids = [schedule.id, slot.id, unrestricted.id];
    const rows = () =>
      db.query(`SELECT resource_type, id, param, grp, system, code FROM search_token WHERE id = ANY($1::text[]) AND param LIKE 'booking-restriction%' ORDER BY 1, 2, 3, 5, 6`, [ids]);
    const written = await rows();
    // A code and an identifier for each restricted resource, and the identifier's type.
    expect(written).to.have.length(6);

    // As a database written before the parameter existed: no rows for the Slot, the Schedule's kept.
    await db.query(`DELETE FROM search_token WHERE id = $1 AND param LIKE 'booking-restriction%'`, [slot.id]);
    await db.query(`DELETE FROM schema_migrations WHERE version = '140_booking_restriction_rows'`);
    expect(await migrate(db)).to.deep.equal(['140_booking_restriction_rows']);
    expect(await rows()).to.deep.equal(written);

    // Run again over resources that all have their rows: nothing added.
    await db.query(`DELETE FROM schema_migrations WHERE version = '140_booking_restriction_rows'`);
    await migrate(db);
    expect(await rows()).to.deep.equal(written);
  });
});

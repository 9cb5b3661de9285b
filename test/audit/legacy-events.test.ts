import { expect } from 'chai';
import type { AuditEvent, Resource } from '@medplum/fhirtypes';
import { auditEventOf } from '../../server/audit/audit-event.js';
import { maintainAuditPartitions } from '../../server/audit/partitions.js';
import type { AuditRecord } from '../../server/audit/record.js';
import { auditEventOfRow, readAuditRow } from '../../server/audit/trail-row.js';
import { createSearchEngine } from '../../server/search/engine.js';
import { insertNewResources } from '../../server/store/bulk-insert.js';
import type { Db } from '../../server/store/db.js';
import { migrate } from '../../server/store/migrate.js';
import { openDb } from '../../server/store/open-db.js';
import { DB_KINDS, freshPostgresUrl } from '../support/server.js';

const LEGACY = '110_audit_trail_legacy_events';
const MARCH_2020 = new Date(Date.UTC(2020, 2, 15, 9, 30, 0, 123));

/** One record of each shape the trail writes: a read of a patient, a refused search, an operation, a login, a notification that failed, an anonymous write. */
const records: Array<[AuditRecord, Date]> = [
  [{ interaction: 'read', status: 200, resources: ['Patient/legacy-1'], patients: ['legacy-1'], principal: { clientId: 'gp-client', org: 'B84002' }, requestId: 'req-1', sourceAddress: '10.0.0.7' }, MARCH_2020],
  [{ interaction: 'search', status: 403, resources: [], patients: ['legacy-2'], principal: { clientId: 'gp-client', org: 'B84002' }, query: 'patient=legacy-2&code=1234', description: 'Access denied' }, new Date()],
  [{ interaction: 'operation', operation: '$everything', status: 200, resources: ['Patient/legacy-1', 'Observation/o-1'], patients: ['legacy-1'], principal: { clientId: 'admin', org: '' }, query: '_type=Observation' }, new Date()],
  [{ interaction: 'token', status: 401, resources: [], patients: [], description: 'invalid client assertion; claimed client who' }, new Date()],
  [{ interaction: 'notification', status: 0, resources: ['MedicationRequest/rx-1'], patients: ['legacy-3'], subscription: 'Subscription/sub-1', requestId: 'notif-1', description: 'connect ECONNREFUSED' }, new Date()],
  [{ interaction: 'create', status: 201, resources: ['Patient/legacy-4'], patients: ['legacy-4'] }, new Date()],
];

/**
 * A database as the hub left it before the audit trail had its own table: AuditEvents written as
 * resources, with history, change-log and index rows, by the writer of that time (insertNewResources).
 */
async function withLegacyEvents(db: Db): Promise<AuditEvent[]> {
  await migrate(db);
  // Migration 110 ran on the empty trail: undo its record and index so that it runs again, as on an older database.
  await db.query('DELETE FROM schema_migrations WHERE version = $1', [LEGACY]);
  await db.query('DROP INDEX audit_event_legacy_id');
  const events = records.map(([record, at]) => auditEventOf(record, at, 'hub.example:8080'));
  return db.transaction((tx) => insertNewResources(tx, createSearchEngine({ defaultCount: 20, maxCount: 100 }), events as Resource[])) as Promise<AuditEvent[]>;
}

async function countsOfAuditEventRows(db: Db): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const table of ['resources', 'resource_history', 'change_log', 'search_token', 'search_reference', 'search_date', 'search_string', 'search_uri']) {
    counts[table] = (await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table} WHERE resource_type = 'AuditEvent'`))[0].n;
  }
  return counts;
}

describe('migration 110: AuditEvents recorded as resources move to the audit trail', function () {
  this.timeout(120_000);

  for (const kind of DB_KINDS) {
    it(`each becomes its row under its own id, reads as it was stored, and leaves no resource, history, change-log or index row (${kind})`, async () => {
      const db = await openDb({ databaseUrl: kind === 'postgres' ? await freshPostgresUrl() : undefined, dataDir: 'memory://', poolSize: 2 });
      try {
        const legacy = await withLegacyEvents(db);
        expect((await countsOfAuditEventRows(db)).resources).to.equal(records.length);

        expect(await migrate(db)).to.deep.equal([LEGACY]);
        expect(Object.values(await countsOfAuditEventRows(db)).every((n) => n === 0), JSON.stringify(await countsOfAuditEventRows(db))).to.equal(true);
        for (const stored of legacy) {
          const row = await readAuditRow(db, stored.id!);
          expect(row, stored.id).to.exist;
          // As stored, but for meta.lastUpdated: an event's one version is the time it was recorded.
          expect(auditEventOfRow(row!)).to.deep.equal({ ...stored, meta: { versionId: '1', lastUpdated: stored.recorded } });
        }
        const searched = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM audit_event WHERE patients && ARRAY['legacy-1'] AND client = 'gp-client' AND status BETWEEN 200 AND 299`);
        expect(searched[0].n).to.equal(1);

        // Applied once: a second start moves nothing and changes nothing.
        expect(await migrate(db)).to.deep.equal([]);
        expect((await db.query<{ n: number }>('SELECT count(*)::int AS n FROM audit_event'))[0].n).to.equal(records.length);
      } finally {
        await db.close();
      }
    });
  }

  it('on PostgreSQL the moved events leave the default partition for their months, where retention drops whole old months', async () => {
    const db = await openDb({ databaseUrl: await freshPostgresUrl(), dataDir: 'memory://', poolSize: 2 });
    try {
      const legacy = await withLegacyEvents(db);
      await migrate(db);
      const partitions = async (): Promise<Record<string, number>> =>
        Object.fromEntries(
          (
            await db.query<{ name: string; n: number }>(
              `SELECT c.relname AS name, (SELECT count(*)::int FROM audit_event e WHERE e.tableoid = c.oid) AS n FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'audit_event'::regclass`,
            )
          ).map((p) => [p.name, p.n]),
        );
      expect((await partitions()).audit_event_default).to.equal(records.length);

      const now = new Date();
      const thisMonth = `audit_event_y${now.getUTCFullYear()}m${String(now.getUTCMonth() + 1).padStart(2, '0')}`;
      await maintainAuditPartitions(db, now);
      const moved = await partitions();
      expect(moved.audit_event_default).to.equal(0);
      expect(moved.audit_event_y2020m03).to.equal(1);
      expect(moved[thisMonth]).to.equal(records.length - 1);
      expect(await readAuditRow(db, legacy[0].id!)).to.exist;

      await maintainAuditPartitions(db, now, 12);
      expect(Object.keys(await partitions())).not.to.include('audit_event_y2020m03');
      expect(await readAuditRow(db, legacy[0].id!)).to.equal(undefined);
      expect(await readAuditRow(db, legacy[1].id!)).to.exist;
    } finally {
      await db.close();
    }
  });
});

import { readdirSync } from 'node:fs';
import path from 'node:path';
import { installConformance } from '../profiles/install.js';
import { configureValidator, initValidator } from '../profiles/validator.js';
import { oneActivePlanRule } from './care/one-active-plan.js';
import { referralRule } from './referrals/referral-rule.js';
import type { Config } from './config.js';
import type { ReadinessCheck } from './readiness.js';
import { logger } from './logger.js';
import { scrapeGauge } from './metrics.js';
import { duplicateTherapyRule } from './medicines/write-time.js';
import { withAuditTrailSearch } from './audit/trail-search.js';
import { createSearchEngine } from './search/engine.js';
import type { SearchEngine } from './search/search.js';
import type { Db } from './store/db.js';
import { openDb } from './store/open-db.js';
import { migrate } from './store/migrate.js';
import { hubStore } from './store-stack.js';
import { bookingRules } from './scheduling/slot-claims.js';
import { withSlotAvailability } from './scheduling/slot-availability.js';
import type { Store } from './store/store.js';

/** The parts of a running server, wired once: database, migrations, search index, store. */
export interface Services {
  config: Config;
  db: Db;
  store: Store;
  search: SearchEngine;
  /** What /readyz checks; other parts (queues) add theirs. */
  readiness: Record<string, ReadinessCheck>;
  /** Closers run in reverse order at shutdown (workers first, the database last). */
  onClose(fn: () => Promise<void>): void;
  close(): Promise<void>;
}

export async function openServices(config: Config): Promise<Services> {
  // A package that cannot be loaded stops the start here, with a message naming its file.
  configureValidator({ packages: config.fhirPackages ?? [], unknownProfiles: config.unknownProfiles ?? 'warn' });
  initValidator();
  const db = await openDb({
    databaseUrl: config.databaseUrl,
    dataDir: config.dataDir,
    poolSize: config.dbPoolSize,
    statementTimeoutMs: config.statementTimeoutMs,
    slowQueryMs: config.slowQueryMs,
    onSlowQuery: (sql, ms) => logger.warn({ ms: Math.round(ms), sql: sql.slice(0, 300) }, 'slow query'),
  });
  await migrate(db);
  const limits = { defaultCount: config.defaultCount, maxCount: config.maxCount };
  // AuditEvents live in the audit trail's own table (server/audit/): searched and read from there.
  const search = withAuditTrailSearch(createSearchEngine(limits), limits);
  // Required profiles, business rules that read other resources and write rules run on every write
  // through the store: bookings take their slots (server/scheduling), a referral follows its state
  // machine and carries out its consequences (server/referrals), one active care plan per patient;
  // a prescription duplicating another organisation's medicine is stored with a DetectedIssue (server/medicines).
  const rules = [bookingRules(search), referralRule(search), oneActivePlanRule(search), duplicateTherapyRule(search, () => config.baseUrl)];
  // Slot writes also keep $find's slot_availability projection (server/scheduling/slot-availability.ts).
  const indexer = withSlotAvailability(search, (slot) => search.referenceTargets(slot, ['schedule']).find((t) => t.resourceType === 'Schedule')?.id);
  const store = hubStore(db, indexer, { required: config.requiredProfiles ?? {}, rules });
  await installConformance(store, search);
  const closers: Array<() => Promise<void>> = [() => db.close()];
  observeDatabase(db);
  return {
    config,
    db,
    store,
    search,
    readiness: {
      database: async () => {
        await db.query('SELECT 1');
        return undefined;
      },
      migrations: async () => {
        const applied = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM schema_migrations');
        const files = readdirSync(path.join(__dirname, 'store', 'migrations')).filter((f) => f.endsWith('.sql')).length;
        return applied[0].n >= files ? undefined : `${files - applied[0].n} migration(s) not applied`;
      },
    },
    onClose: (fn) => closers.push(fn),
    async close() {
      for (const fn of closers.reverse()) await fn();
    },
  };
}

/** Pool usage and outbox lag, read at scrape time. */
function observeDatabase(db: Db): void {
  scrapeGauge('db_pool_connections', 'PostgreSQL pool connections by state', ['state'], (set) => {
    const stats = db.poolStats?.();
    if (!stats) return;
    set({ state: 'total' }, stats.total);
    set({ state: 'idle' }, stats.idle);
    set({ state: 'waiting' }, stats.waiting);
  });
  scrapeGauge('outbox_unrelayed_changes', 'Change-log rows committed but not yet relayed to the queue', [], async (set) => {
    const rows = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM change_log WHERE relayed_at IS NULL');
    set({}, rows[0].n);
  });
}

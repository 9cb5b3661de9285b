import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Db } from './db.js';

const MIGRATIONS_DIR = path.join(__dirname, 'migrations');
// Any constant works; it only has to be the same in every process that migrates this database.
const MIGRATION_LOCK = 4_817_220_301;

/**
 * Applies the versioned SQL files in migrations/ in order, each in its own transaction under a
 * transaction-scoped advisory lock, so several processes starting at once apply each file exactly once.
 */
export async function migrate(db: Db): Promise<string[]> {
  await db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (version text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`).catch(async (err) => {
    // Two processes creating the table at once: one wins, the other sees a duplicate; both can go on.
    if (!String(err).includes('already exists') && !String(err).includes('duplicate key')) throw err;
  });
  const files = readdirSync(MIGRATIONS_DIR).filter((f) => f.endsWith('.sql')).sort();
  const applied: string[] = [];
  for (const file of files) {
    const version = file.replace(/\.sql$/, '');
    const ran = await db.transaction(async (tx) => {
      await tx.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
      const done = await tx.query('SELECT 1 FROM schema_migrations WHERE version = $1', [version]);
      if (done.length) return false;
      for (const statement of splitStatements(readFileSync(path.join(MIGRATIONS_DIR, file), 'utf8'))) {
        await tx.query(statement);
      }
      await tx.query('INSERT INTO schema_migrations (version) VALUES ($1)', [version]);
      return true;
    });
    if (ran) applied.push(version);
  }
  return applied;
}

/** Splits a migration script on semicolons at line ends (our files keep one statement per `;\n`). */
function splitStatements(sql: string): string[] {
  return sql
    .split(/;\s*(?:\n|$)/)
    .map((s) => s.replace(/^\s*--.*$/gm, '').trim())
    .filter((s) => s.length > 0);
}

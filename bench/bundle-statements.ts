// Statements one import Bundle sends (issue 14): posts transaction Bundles of bench/import-data.ts to a
// server in this process (embedded PGlite unless DATABASE_URL is set; the same SQL either way),
// counting every statement its database transactions send, grouped by their first words.
//   npx tsx bench/bundle-statements.ts [--bundles 2]
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig } from '../server/config.js';
import { startServer } from '../server/main.js';
import type { Queryable } from '../server/store/db.js';
import { neighbourhoodBundle } from './import-data.js';
import { printTable } from './support.js';

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { bundles: { type: 'string', default: '2' } } });
  const base = loadConfig(process.env);
  const running = await startServer({
    ...base,
    port: 0,
    dataDir: process.env.DATABASE_URL ? base.dataDir : 'memory://',
    // Authentication off, as in bench/import.ts: the FHIR work itself.
    auth: { ...base.auth, disabled: true, adminCredentialsFile: path.join(mkdtempSync(path.join(os.tmpdir(), 'hub-statements-')), 'admin.json') },
  });
  running.services.config.baseUrl = `${running.url}/fhir`;
  const db = running.services.db;
  const statements: string[] = [];
  const transaction = db.transaction.bind(db);
  const counted = (tx: Queryable): Queryable => ({
    query: (sql, params, options) => {
      statements.push(sql.replace(/\s+/g, ' ').trim());
      return tx.query(sql, params, options);
    },
  });
  db.transaction = (fn) => transaction((tx) => fn(counted(tx)));
  try {
    const bundles = Number(values.bundles);
    for (let b = 0; b < bundles; b++) {
      statements.length = 0;
      const res = await fetch(`${running.url}/fhir`, { method: 'POST', headers: { 'content-type': 'application/fhir+json', prefer: 'return=minimal' }, body: JSON.stringify(neighbourhoodBundle(b)) });
      if (res.status !== 200) throw new Error(`bundle ${b} refused (${res.status}): ${(await res.text()).slice(0, 300)}`);
      const byKind = new Map<string, number>();
      for (const s of statements) {
        const kind = s.slice(0, 70);
        byKind.set(kind, (byKind.get(kind) ?? 0) + 1);
      }
      printTable(
        `Bundle ${b + 1}: ${statements.length} statements in its transaction`,
        [...byKind].sort((x, y) => y[1] - x[1]).map(([statement, n]) => ({ n, statement: statement.replace(/\|/g, '/') })),
      );
    }
  } finally {
    await running.stop();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});

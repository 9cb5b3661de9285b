// Issue 14: what embedded PGlite itself takes. Run by bench/idle.ts in a process of its own: RSS
// before opening PGlite in DATA_DIR and after opening it (and migrating, as the server does), as JSON.
import { readFileSync } from 'node:fs';
import { openPglite } from '../server/store/pglite-db.js';
import { migrate } from '../server/store/migrate.js';

const rssMb = (): number => Number(/VmRSS:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? 0) / 1024;

async function main(): Promise<void> {
  const before = rssMb();
  const dataDir = process.env.DATA_DIR!;
  const db = await openPglite(dataDir, { dataDir });
  await migrate(db);
  await db.query('SELECT count(*) FROM resources');
  const after = rssMb();
  await db.close();
  console.log(JSON.stringify({ before, after }));
}

void main();

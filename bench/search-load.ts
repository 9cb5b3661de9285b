import type { Resource } from '@medplum/fhirtypes';
import type { Db } from '../server/store/db.js';
import { SqlStore } from '../server/store/resource-store.js';
import type { SearchEngine } from '../server/search/search.js';

/**
 * Writes the resources through the store (so the index rows are the real ones), `concurrency`
 * transactions at a time, resuming after what the database already holds, then ANALYZEs.
 * Returns the seconds spent writing (0 when nothing was missing).
 */
export async function loadResources(db: Db, engine: SearchEngine, resources: Resource[], concurrency = 8): Promise<number> {
  const store = new SqlStore(db, engine);
  const [{ n }] = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM resources');
  if (n >= resources.length) return 0;
  const started = Date.now();
  let next = n;
  let done = n;
  let reported = Date.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < resources.length) {
        await store.update(resources[next++] as Resource & { id: string });
        if (++done % 10_000 === 0 && Date.now() - reported > 5000) {
          reported = Date.now();
          console.error(`  loaded ${done}/${resources.length} (${Math.round((done - n) / ((Date.now() - started) / 1000))}/s)`);
        }
      }
    }),
  );
  await db.query('ANALYZE');
  return (Date.now() - started) / 1000;
}

import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Resource } from '@medplum/fhirtypes';
import { seedNeighbourhood } from '../../server/seed.js';
import type { Store } from '../../server/store/store.js';

export const MEDICINES_DIR = path.join(__dirname, '..', '..', 'fixtures', 'medicines');
export const OLIVE = 'pat-olive-grant';

export function medicinesFixtures(): Resource[] {
  return readdirSync(MEDICINES_DIR)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => JSON.parse(readFileSync(path.join(MEDICINES_DIR, f), 'utf8')) as Resource);
}

/** The neighbourhood, then Olive Grant's medicines, written one by one as prescribers would. */
export async function seedMedicines(store: Store): Promise<void> {
  await seedNeighbourhood(store);
  for (const r of medicinesFixtures()) await store.update({ ...r, id: r.id as string });
}

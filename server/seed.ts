import type { Resource } from '@medplum/fhirtypes';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { validateResource } from '../profiles/validator.js';
import type { Store } from './store/store.js';

// `npm start -- --seed`: loads the small neighbourhood of fixtures/neighbourhood (practices, a
// pharmacy, a dentist, a mental health service, a voluntary organisation, their people and roles,
// a co-located site, patients with multimorbidity, care teams, prescriptions and appointments).

export const NEIGHBOURHOOD_DIR = path.join(__dirname, '..', 'fixtures', 'neighbourhood');

/** The fixtures in load order: file names start with a number so referenced resources come first. */
export function neighbourhoodFixtures(): Resource[] {
  return readdirSync(NEIGHBOURHOOD_DIR)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => JSON.parse(readFileSync(path.join(NEIGHBOURHOOD_DIR, f), 'utf8')) as Resource);
}

/**
 * Writes every fixture with its own id (update as create), through the same validation as any
 * client write, so a seed that breaks a profile fails loudly. Running it again adds versions only
 * for fixtures that changed.
 */
export async function seedNeighbourhood(store: Store): Promise<number> {
  const fixtures = neighbourhoodFixtures();
  await store.transaction(async (tx) => {
    for (const fixture of fixtures) {
      const resource = validateResource(fixture);
      const current = await tx.read(resource.resourceType, resource.id as string);
      if (current?.content && !current.deleted && sameContent(current.content, resource)) continue;
      await tx.update({ ...resource, id: resource.id as string });
    }
  });
  return fixtures.length;
}

function sameContent(stored: string, resource: Resource): boolean {
  const { meta: _a, ...a } = JSON.parse(stored) as Resource;
  const { meta: _b, ...b } = resource;
  return JSON.stringify(a) === JSON.stringify(b);
}

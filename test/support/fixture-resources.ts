import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import type { Resource } from '@medplum/fhirtypes';

/** Every resource in the project's fixtures, Bundle entries and contained ones included. */
export function fixtureResources(): Resource[] {
  const found: Resource[] = [];
  const add = (value: unknown): void => {
    if (!value || typeof value !== 'object') return;
    const resource = value as Resource & { entry?: Array<{ resource?: unknown }>; contained?: unknown[] };
    if (typeof resource.resourceType !== 'string') return;
    found.push(resource);
    for (const e of resource.entry ?? []) add(e.resource);
    for (const c of resource.contained ?? []) add(c);
  };
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir)) {
      const file = path.join(dir, name);
      if (statSync(file).isDirectory()) walk(file);
      else if (name.endsWith('.json')) add(JSON.parse(readFileSync(file, 'utf8')));
    }
  };
  walk(path.join(__dirname, '../../fixtures'));
  return found;
}

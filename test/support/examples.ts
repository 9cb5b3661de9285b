import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Resource } from '@medplum/fhirtypes';

/** NHS example data in ../shared/examples (written by others, so tests are not tuned to our own fixtures). */
export const SHARED_EXAMPLES = path.join(__dirname, '..', '..', '..', 'shared', 'examples');
export const FIXTURES = path.join(__dirname, '..', '..', 'fixtures');

export function sharedExample<T extends Resource = Resource>(relative: string): T {
  return JSON.parse(readFileSync(path.join(SHARED_EXAMPLES, relative), 'utf8')) as T;
}

export function fixture<T extends Resource = Resource>(relative: string): T {
  return JSON.parse(readFileSync(path.join(FIXTURES, relative), 'utf8')) as T;
}

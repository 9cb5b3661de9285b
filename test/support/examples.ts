import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Resource } from '@medplum/fhirtypes';

export const FIXTURES = path.join(__dirname, '..', '..', 'fixtures');
/** NHS example data (written by others, so tests are not tuned to our own fixtures); see its README for sources. */
export const SHARED_EXAMPLES = path.join(FIXTURES, 'nhs-examples');

export function sharedExample<T extends Resource = Resource>(relative: string): T {
  return JSON.parse(readFileSync(path.join(SHARED_EXAMPLES, relative), 'utf8')) as T;
}

export function fixture<T extends Resource = Resource>(relative: string): T {
  return JSON.parse(readFileSync(path.join(FIXTURES, relative), 'utf8')) as T;
}

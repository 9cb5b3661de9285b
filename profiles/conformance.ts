import type { CodeSystem, Resource, StructureDefinition, ValueSet } from '@medplum/fhirtypes';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { PACKAGE_DIR } from './package-build';

/** The conformance resources this server holds: our package (profiles/package), snapshots included. */
export interface Conformance {
  resources: Resource[];
  structureDefinitions: ReadonlyMap<string, StructureDefinition>;
  valueSets: ReadonlyMap<string, ValueSet>;
  codeSystems: ReadonlyMap<string, CodeSystem>;
}

let loaded: Conformance | undefined;

/** Reads the checked-in package once; a canonical may carry `|version`, which is ignored (we hold one version of each). */
export function conformance(): Conformance {
  if (loaded) return loaded;
  const index = JSON.parse(readFileSync(path.join(PACKAGE_DIR, '.index.json'), 'utf8')) as { files: { filename: string }[] };
  const resources = index.files.map((f) => JSON.parse(readFileSync(path.join(PACKAGE_DIR, f.filename), 'utf8')) as Resource);
  const byUrl = <T extends Resource>(type: T['resourceType']): Map<string, T> =>
    new Map(resources.filter((r): r is T => r.resourceType === type).map((r) => [(r as T & { url: string }).url, r]));
  loaded = {
    resources,
    structureDefinitions: byUrl<StructureDefinition>('StructureDefinition'),
    valueSets: byUrl<ValueSet>('ValueSet'),
    codeSystems: byUrl<CodeSystem>('CodeSystem'),
  };
  return loaded;
}

export const canonicalUrl = (canonical: string): string => canonical.split('|')[0];

/** Our profiles on resources (not extensions), for the CapabilityStatement's supportedProfile. */
export function resourceProfiles(): StructureDefinition[] {
  return [...conformance().structureDefinitions.values()].filter((sd) => sd.kind === 'resource');
}


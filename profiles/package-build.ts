import type { Resource, StructureDefinition } from '@medplum/fhirtypes';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { readFhirPackage } from './fhir-package';
import { coreStructureReader } from '../server/fhir/r4-definitions';
import type { Resolver } from './snapshot';
import { withSnapshots } from './snapshot-set';

// Builds the FHIR NPM package (https://hl7.org/fhir/packages.html) from the authored sources:
// differentials in profiles/source become StructureDefinitions with snapshots in profiles/package.

export const CANONICAL = 'https://fhir.neighbourhood-hub.example';
export const SOURCE_DIR = path.join(__dirname, 'source');
export const PACKAGE_DIR = path.join(__dirname, 'package');
/** UK Core, the national profiles our own derive from and that the server loads by default (profiles/packages/uk-core/SOURCE.md). */
export const UK_CORE_DIR = path.join(__dirname, 'packages', 'uk-core');
const PACKAGE_NAME = 'neighbourhood-hub.fhir.r4';
const PACKAGE_VERSION = '0.1.0';

/** The authored sources: differentials, ValueSets and CodeSystems. */
export function readSources(): Resource[] {
  const files = (dir: string): string[] =>
    readdirSync(dir, { withFileTypes: true }).flatMap((f) => (f.isDirectory() ? files(path.join(dir, f.name)) : f.name.endsWith('.json') ? [path.join(dir, f.name)] : []));
  return files(SOURCE_DIR)
    .sort()
    .map((file) => JSON.parse(readFileSync(file, 'utf8')) as Resource);
}

/** Every resource of the package, snapshots generated from R4 core and UK Core, in file order. */
export function buildPackageResources(sources: Resource[] = readSources()): Resource[] {
  const core = coreStructureReader();
  const ukCore = readFhirPackage(UK_CORE_DIR).resources.flatMap(({ file, resource }) =>
    resource.resourceType === 'StructureDefinition' ? [{ where: `${UK_CORE_DIR}: ${file}`, sd: resource }] : [],
  );
  const ours = sources.flatMap((r) => (r.resourceType === 'StructureDefinition' ? [{ where: `${SOURCE_DIR}: ${r.id}`, sd: r }] : []));
  const resolve: Resolver = (url) => core(url.split('|')[0]);
  const built = withSnapshots([...ukCore, ...ours], resolve);
  return sources.map((r) => (r.resourceType === 'StructureDefinition' ? (built.get((r as StructureDefinition).url as string) as Resource) : r));
}

export const fileNameOf = (r: Resource): string => `${r.resourceType}-${r.id}.json`;

/** The package's files (name → text): package.json, .index.json and one file per resource. */
export function buildPackageFiles(resources: Resource[] = buildPackageResources()): Map<string, string> {
  const files = new Map<string, string>();
  const text = (value: unknown): string => `${JSON.stringify(value, null, 2)}\n`;
  files.set(
    'package.json',
    text({
      name: PACKAGE_NAME,
      version: PACKAGE_VERSION,
      type: 'fhir.ig',
      canonical: CANONICAL,
      title: 'Neighbourhood FHIR hub profiles',
      description: 'Profiles, code systems and value sets for NHS neighbourhood teams (FHIR R4), with local copies of the UK Core extensions they use.',
      fhirVersions: ['4.0.1'],
      dependencies: { 'hl7.fhir.r4.core': '4.0.1' },
      license: 'CC0-1.0',
      author: 'Neighbourhood FHIR hub',
    }),
  );
  // .index.json lets package tools find resources without opening every file: https://hl7.org/fhir/packages.html#2.1.10.4
  files.set(
    '.index.json',
    text({
      'index-version': 1,
      files: resources.map((r) => {
        const c = r as Resource & { url?: string; version?: string; kind?: string; type?: string };
        return { filename: fileNameOf(r), resourceType: r.resourceType, id: r.id, url: c.url, version: c.version, kind: c.kind, type: c.type };
      }),
    }),
  );
  for (const r of resources) files.set(fileNameOf(r), text(r));
  return files;
}

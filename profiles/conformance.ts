import type { CodeSystem, StructureDefinition, ValueSet } from '@medplum/fhirtypes';
import { PackageError, readFhirPackage, type ConformanceResource, type FhirPackage } from './fhir-package';
import { PACKAGE_DIR, UK_CORE_DIR } from './package-build';
import { coreStructureReader } from '../server/fhir/r4-definitions';
import { withSnapshots } from './snapshot-set';

/**
 * The conformance resources this server holds, from FHIR packages: UK Core, any named by
 * FHIR_PACKAGES, then our own (profiles/package), each StructureDefinition with a snapshot.
 * https://hl7.org/fhir/R4/packages.html
 */
export interface Conformance {
  packages: readonly { name: string; version: string }[];
  /** Every resource as its package ships it (UK Core's profiles with differentials only): what the store serves. */
  published: ConformanceResource[];
  /** As published: their snapshots are many times their differentials, and only compiling profiles reads them (takeSnapshots). */
  structureDefinitions: ReadonlyMap<string, StructureDefinition>;
  valueSets: ReadonlyMap<string, ValueSet>;
  codeSystems: ReadonlyMap<string, CodeSystem>;
}

let extraPackages: readonly string[] = [];
let loaded: Conformance | undefined;
/** The snapshots generated while loading, until compiling the profiles takes them. */
let generated: { from: Conformance; snapshots: ReadonlyMap<string, StructureDefinition> } | undefined;

/** Packages to load beside UK Core and ours (FHIR_PACKAGES): loaded now, so a bad one is reported at once, naming its file. */
export function configurePackages(locations: readonly string[]): void {
  if (loaded && locations.join('\n') === extraPackages.join('\n')) return;
  const previous = { extraPackages, loaded };
  extraPackages = locations;
  loaded = undefined;
  try {
    conformance();
  } catch (err) {
    // A package that cannot be loaded leaves the server (and the process) with what it held before.
    ({ extraPackages, loaded } = previous);
    throw err;
  }
}

/**
 * Reads the packages once. A canonical may carry `|version`, which is ignored (one version of each
 * is held; a later package's resource replaces an earlier one's). Throws a PackageError naming the
 * file at fault when a package cannot be read or one of its profiles cannot be snapshotted.
 */
export function conformance(): Conformance {
  if (loaded) return loaded;
  const packages: FhirPackage[] = [UK_CORE_DIR, ...extraPackages, PACKAGE_DIR].map(readFhirPackage);
  const byKey = new Map<string, { where: string; resource: ConformanceResource }>();
  const idOwner = new Map<string, string>();
  for (const pkg of packages) {
    for (const { file, resource } of pkg.resources) {
      const where = `${pkg.source}: ${file}`;
      const idKey = `${resource.resourceType}/${resource.id}`;
      const owner = idOwner.get(idKey);
      // Resources are served by id: two different canonicals may not share one.
      if (owner && owner !== resource.url) throw new PackageError(`${where}: ${idKey} is already ${owner}`);
      idOwner.set(idKey, resource.url as string);
      byKey.set(`${resource.resourceType} ${resource.url}`, { where, resource });
    }
  }
  const entries = [...byKey.values()];
  // Generated now, so that a profile that cannot be snapshotted stops the load, naming its file.
  const snapshots = packageSnapshots(entries);
  const published = entries.map(({ resource }) => resource);
  const byUrl = <T extends ConformanceResource>(type: T['resourceType']): Map<string, T> =>
    new Map(published.filter((r): r is T => r.resourceType === type).map((r) => [r.url as string, r]));
  loaded = {
    packages: packages.map((p) => ({ name: p.name, version: p.version })),
    published,
    structureDefinitions: byUrl<StructureDefinition>('StructureDefinition'),
    valueSets: byUrl<ValueSet>('ValueSet'),
    codeSystems: byUrl<CodeSystem>('CodeSystem'),
  };
  generated = { from: loaded, snapshots };
  return loaded;
}

function packageSnapshots(entries: readonly { where: string; resource: ConformanceResource }[]): Map<string, StructureDefinition> {
  const definitions = entries.flatMap(({ where, resource }) => (resource.resourceType === 'StructureDefinition' ? [{ where, sd: resource }] : []));
  try {
    return withSnapshots(definitions, coreStructureReader());
  } catch (err) {
    throw new PackageError((err as Error).message);
  }
}

/**
 * The held StructureDefinitions with their snapshots, by canonical URL, in the order they are held:
 * those generated at load the first time (then let go), generated again when asked once more.
 */
export function takeSnapshots(held: Conformance): Map<string, StructureDefinition> {
  const snapshots = generated?.from === held ? generated.snapshots : packageSnapshots(held.published.map((resource) => ({ where: resource.url as string, resource })));
  if (generated?.from === held) generated = undefined;
  return new Map([...held.structureDefinitions.keys()].map((url) => [url, snapshots.get(url) as StructureDefinition]));
}

export const canonicalUrl = (canonical: string): string => canonical.split('|')[0];

/** Profiles on resources (not extensions or data types), for the CapabilityStatement's supportedProfile. */
export function resourceProfiles(): StructureDefinition[] {
  return [...conformance().structureDefinitions.values()].filter((sd) => sd.kind === 'resource');
}

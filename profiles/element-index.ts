import { getAllDataTypes, type InternalSchemaElement } from '@medplum/core';
import type { Terminology } from '../server/fhir/r4-definitions';
import { expandValueSet, type ExpandedValueSet } from './valuesets';
import { PRIMITIVE_TYPES } from './primitives';

/** What the walker needs to know about one JSON property of a FHIR type. */
export interface Field {
  /** The JSON key without `_`, e.g. `deceasedBoolean`. */
  key: string;
  /** The type of this key's value: `boolean` for `deceasedBoolean`, `PatientContact` for `contact`. */
  type: string;
  primitive: boolean;
  /** Whether the JSON form is an array (base max > 1); the JSON schema does not check it for complex types. */
  isArray: boolean;
  /** The choice element this key is one form of (`deceased[x]`), if any. */
  choice?: string;
  /** Set when the element has a required binding whose ValueSet the R4 definitions can expand. */
  valueSet?: ExpandedValueSet;
  /** A Reference's allowed target resource types (Reference(Schedule)); absent when any type will do. */
  targets?: ReadonlySet<string>;
}

export type FieldTable = ReadonlyMap<string, Field>;

const BINDABLE = new Set(['code', 'Coding', 'CodeableConcept']);

/** Builds, once, a JSON key → Field table for every type Medplum has indexed from the R4 definitions. */
export function buildFieldTables(terminology: Terminology): ReadonlyMap<string, FieldTable> {
  const expansions = new Map<string, ExpandedValueSet | undefined>();
  const expand = (url: string): ExpandedValueSet | undefined => {
    if (!expansions.has(url)) expansions.set(url, expandValueSet(url, terminology));
    return expansions.get(url);
  };
  const tables = new Map<string, FieldTable>();
  for (const [typeName, schema] of Object.entries(getAllDataTypes())) {
    const table = new Map<string, Field>();
    for (const [name, element] of Object.entries(schema.elements)) {
      for (const field of fieldsOf(name, element)) {
        const binding = element.binding;
        if (binding?.strength === 'required' && binding.valueSet && BINDABLE.has(field.type)) field.valueSet = expand(binding.valueSet);
        table.set(field.key, field);
      }
    }
    tables.set(typeName, table);
  }
  return tables;
}

/** `deceased[x]` of boolean|dateTime becomes the keys `deceasedBoolean` and `deceasedDateTime`. */
function fieldsOf(name: string, element: InternalSchemaElement): Field[] {
  const targets = targetTypes(element);
  if (!name.endsWith('[x]')) {
    const type = element.type[0]?.code ?? 'Element';
    return [{ key: name, type, primitive: PRIMITIVE_TYPES.has(type), isArray: !!element.isArray, ...(type === 'Reference' && targets ? { targets } : {}) }];
  }
  const base = name.slice(0, -3);
  return element.type.map(({ code }) => ({
    key: base + code.charAt(0).toUpperCase() + code.slice(1),
    type: code,
    primitive: PRIMITIVE_TYPES.has(code),
    isArray: false,
    choice: name,
    ...(code === 'Reference' && targets ? { targets } : {}),
  }));
}

/** The resource types a Reference element may point at, from its targetProfiles; undefined when any (Reference(Any), or none named). */
function targetTypes(element: InternalSchemaElement): ReadonlySet<string> | undefined {
  const profiles = element.type.filter((t) => t.code === 'Reference').flatMap((t) => t.targetProfile ?? []);
  const types = profiles.map((url) => url.slice(url.lastIndexOf('/') + 1));
  if (!types.length || types.includes('Resource')) return undefined;
  return new Set(types);
}

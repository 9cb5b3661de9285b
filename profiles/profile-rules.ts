import { parseFhirPath } from '@medplum/core';
import type { ElementDefinition, ElementDefinitionConstraint, StructureDefinition } from '@medplum/fhirtypes';
import { CANONICAL } from './package-build';
import { unslicedId } from './snapshot';
import { bindingExpansion } from './terminology';
import type { ExpandedValueSet } from './valuesets';

// A profile's snapshot compiled into the rules it adds to its base: only elements its differential
// names carry checks (the base R4 rules have been checked by then), the rest of the tree is just
// the way down to them. https://hl7.org/fhir/R4/profiling.html

type FhirPathAtom = ReturnType<typeof parseFhirPath>;

export interface Invariant {
  key: string;
  human: string;
  expression: string;
  atom: FhirPathAtom;
  /** FHIRPath of the element the rule is about (our constraint-location extension), else the element it sits on. */
  location?: string;
  /** Evaluated when the rule fails and reported as "found …" (our constraint-found extension). */
  found?: FhirPathAtom;
}

export interface Discriminator {
  type: string;
  path: string;
}

export interface Rule {
  id: string;
  /** Element name in its parent: `identifier`, `value[x]`. */
  name: string;
  /** The one type of the element, when it has one. */
  typeCode?: string;
  short?: string;
  sliceName?: string;
  min: number;
  max: number;
  checkCardinality: boolean;
  /** Types a choice element is restricted to. */
  allowedTypes?: string[];
  /** Resource types a Reference may point at. */
  targetTypes?: string[];
  fixed?: unknown;
  pattern?: unknown;
  /** A required binding; without an expansion (SNOMED CT refsets, dm+d, BCP-47) it is not checked, and the answer says so. */
  binding?: { url: string; expansion?: ExpandedValueSet };
  /** A binding that is not required: codes from a complete CodeSystem the server holds must still exist in it. */
  codesMustExist?: boolean;
  invariants: Invariant[];
  children: Rule[];
  slicing?: { discriminators: Discriminator[]; closed: boolean; slices: Rule[] };
  /** For a slice of extensions: the extension's StructureDefinition, whose rules each value must meet too. */
  extensionProfile?: string;
  /** What a value must show at each discriminator path to belong to this slice. */
  discriminatorValues?: Map<string, { fixed?: unknown; pattern?: unknown; binding?: ExpandedValueSet }>;
}

export interface CompiledProfile {
  url: string;
  name: string;
  type: string;
  root: Rule;
}

const LOCATION_URL = `${CANONICAL}/StructureDefinition/constraint-location`;
const FOUND_URL = `${CANONICAL}/StructureDefinition/constraint-found`;

/** Compiles a profile with a snapshot; `typeOfProfile` maps a target profile URL to its resource type. */
export function compileProfile(sd: StructureDefinition, typeOfProfile: (url: string) => string | undefined): CompiledProfile {
  const elements = sd.snapshot?.element ?? [];
  if (!elements.length) throw new Error(`${sd.url} has no snapshot`);
  const byId = new Map(elements.map((e) => [e.id as string, e]));
  const differential = new Map((sd.differential?.element ?? []).map((e) => [e.id as string, e]));
  const wanted = new Set<string>();
  for (const id of differential.keys()) for (let a: string | undefined = id; a; a = parentOf(a)) wanted.add(a);

  const rules = new Map<string, Rule>();
  for (const element of elements) {
    const id = element.id as string;
    if (!wanted.has(id)) continue;
    const rule = toRule(element, differential.get(id), typeOfProfile);
    rules.set(id, rule);
    const parentId = parentOf(id);
    const parent = parentId ? rules.get(parentId) : undefined;
    if (!parent) continue;
    if (isSliceId(id)) {
      parent.slicing ??= { discriminators: [], closed: false, slices: [] };
      const values = discriminatorValues(id, element, parent.slicing.discriminators, byId);
      if (values) {
        rule.discriminatorValues = values;
        parent.slicing.slices.push(rule);
      } else {
        // A slice that fixes nothing at its discriminator cannot be told apart from its siblings: it is
        // not checked, and the slicing is not held closed against values that may belong to it.
        parent.slicing.closed = false;
      }
    } else {
      parent.children.push(rule);
    }
  }
  const root = rules.get(elements[0].id as string) as Rule;
  return { url: sd.url as string, name: sd.name as string, type: sd.type as string, root };
}

/** `A.b:s.c` → `A.b:s`; `A.b:s` → `A.b` (the sliced element); `A` → undefined. */
function parentOf(id: string): string | undefined {
  const last = id.slice(id.lastIndexOf('.') + 1);
  if (last.includes(':')) return id.slice(0, id.lastIndexOf(':'));
  return id.includes('.') ? id.slice(0, id.lastIndexOf('.')) : undefined;
}

const isSliceId = (id: string): boolean => id.slice(id.lastIndexOf('.') + 1).includes(':');

function toRule(element: ElementDefinition, diff: ElementDefinition | undefined, typeOfProfile: (url: string) => string | undefined): Rule {
  const id = element.id as string;
  const last = unslicedId(id).split('.');
  const types = element.type ?? [];
  const rule: Rule = {
    id,
    name: last[last.length - 1],
    typeCode: types.length === 1 ? types[0].code : undefined,
    short: diff?.short,
    sliceName: element.sliceName,
    min: element.min ?? 0,
    max: element.max === '*' || element.max === undefined ? Infinity : Number(element.max),
    checkCardinality: !!diff && (diff.min !== undefined || diff.max !== undefined || !!element.sliceName),
    invariants: [],
    children: [],
  };
  if (element.slicing) rule.slicing = { discriminators: (element.slicing.discriminator ?? []) as Discriminator[], closed: element.slicing.rules === 'closed', slices: [] };
  if (!diff) return rule;
  if (diff.type) {
    if (rule.name.endsWith('[x]')) rule.allowedTypes = types.map((t) => t.code as string);
    const targets = types.flatMap((t) => t.targetProfile ?? []).map((url) => typeOfProfile(url));
    if (targets.length && targets.every((t): t is string => !!t)) rule.targetTypes = targets;
    const profile = types.find((t) => t.code === 'Extension')?.profile?.[0];
    if (profile) rule.extensionProfile = profile;
  }
  const fixedKey = Object.keys(diff).find((k) => k.startsWith('fixed'));
  const patternKey = Object.keys(diff).find((k) => k.startsWith('pattern'));
  if (fixedKey) rule.fixed = (element as unknown as Record<string, unknown>)[fixedKey];
  if (patternKey) rule.pattern = (element as unknown as Record<string, unknown>)[patternKey];
  if (diff.binding?.strength === 'required' && diff.binding.valueSet) {
    rule.binding = { url: diff.binding.valueSet, expansion: bindingExpansion(diff.binding.valueSet) };
  } else if (diff.binding) {
    rule.codesMustExist = true;
  }
  rule.invariants = (diff.constraint ?? []).filter((c) => c.severity === 'error').map(toInvariant);
  return rule;
}

function toInvariant(c: ElementDefinitionConstraint): Invariant {
  const ext = (url: string): string | undefined => c.extension?.find((e) => e.url === url)?.valueString;
  const found = ext(FOUND_URL);
  return {
    key: c.key as string,
    human: c.human as string,
    expression: c.expression as string,
    atom: parseFhirPath(c.expression as string),
    location: ext(LOCATION_URL),
    found: found ? parseFhirPath(found) : undefined,
  };
}

/** The fixed/pattern values (or binding) a slice's elements show at its discriminator paths. */
function discriminatorValues(
  sliceId: string,
  slice: ElementDefinition,
  discriminators: Discriminator[],
  byId: ReadonlyMap<string, ElementDefinition>,
): Map<string, { fixed?: unknown; pattern?: unknown; binding?: ExpandedValueSet }> | undefined {
  const values = new Map<string, { fixed?: unknown; pattern?: unknown; binding?: ExpandedValueSet }>();
  for (const d of discriminators) {
    if (d.path === 'url' && slice.type?.[0]?.profile?.[0]) {
      values.set('url', { fixed: slice.type[0].profile[0] });
      continue;
    }
    const element = d.path === '$this' ? slice : byId.get(`${sliceId}.${d.path}`);
    if (!element) {
      const own = sliceOwnValue(slice, d.path);
      if (!own) return undefined;
      values.set(d.path, own);
      continue;
    }
    const key = (prefix: string): string | undefined => Object.keys(element).find((k) => k.startsWith(prefix) && k !== prefix);
    const fixedKey = key('fixed');
    const patternKey = key('pattern');
    const bound = element.binding?.strength === 'required' && element.binding.valueSet ? bindingExpansion(element.binding.valueSet) : undefined;
    values.set(d.path, {
      fixed: fixedKey ? (element as unknown as Record<string, unknown>)[fixedKey] : undefined,
      pattern: patternKey ? (element as unknown as Record<string, unknown>)[patternKey] : undefined,
      binding: bound,
    });
    if (!fixedKey && !patternKey && !bound) return undefined;
  }
  return values;
}

/** The value at a discriminator path read from the slice's own fixed or pattern value (`patternCoding.system`). */
function sliceOwnValue(slice: ElementDefinition, path: string): { fixed?: unknown; pattern?: unknown } | undefined {
  for (const [key, value] of Object.entries(slice)) {
    const kind = key.startsWith('fixed') ? 'fixed' : key.startsWith('pattern') ? 'pattern' : undefined;
    if (!kind || key === kind) continue;
    let at: unknown = value;
    for (const part of path.split('.')) at = at && typeof at === 'object' ? (at as Record<string, unknown>)[part] : undefined;
    if (at !== undefined) return { [kind]: at };
  }
  return undefined;
}

import type { ElementDefinition, StructureDefinition } from '@medplum/fhirtypes';

// Snapshot generation: https://hl7.org/fhir/R4/profiling.html#snapshot
// Written here because no maintained JavaScript library generates R4 snapshots (the reference
// generators are Java and .NET). It covers what our differentials and UK Core's use, and refuses
// anything else: cardinality, type and target-profile restriction, fixed/pattern values, bindings,
// slicing, extension slices, invariants, modifier flags, mappings and documentation text.

/** Finds a StructureDefinition (with a snapshot) by canonical URL: R4 core and our own. */
export type Resolver = (url: string) => StructureDefinition | undefined;

/** Keys of a differential ElementDefinition the generator knows how to merge. */
const DOC_KEYS = ['short', 'definition', 'comment', 'requirements', 'label', 'alias', 'mustSupport', 'isSummary', 'isModifier', 'isModifierReason', 'meaningWhenMissing'] as const;
const KNOWN_KEYS = new Set<string>(['id', 'path', 'sliceName', 'min', 'max', 'type', 'binding', 'constraint', 'slicing', 'mapping', ...DOC_KEYS]);

/** The default slicing of extension elements: https://hl7.org/fhir/R4/extensibility.html#list */
const EXTENSION_SLICING = { discriminator: [{ type: 'value' as const, path: 'url' }], rules: 'open' as const };

export class SnapshotError extends Error {}

/** Returns the profile with `snapshot` built from its base's snapshot and its `differential`. */
export function generateSnapshot(profile: StructureDefinition, resolve: Resolver): StructureDefinition {
  const base = profile.baseDefinition ? resolve(profile.baseDefinition) : undefined;
  if (!base?.snapshot?.element?.length) throw new SnapshotError(`${profile.url}: base ${profile.baseDefinition} has no snapshot`);
  const elements = new ElementList(structuredClone(base.snapshot.element), resolve, profile.url ?? '');
  for (const diff of profile.differential?.element ?? []) elements.apply(diff);
  const { differential, ...rest } = profile;
  return { ...rest, snapshot: { element: elements.list }, differential };
}

class ElementList {
  constructor(
    readonly list: ElementDefinition[],
    private readonly resolve: Resolver,
    private readonly profileUrl: string,
  ) {}

  apply(diff: ElementDefinition): void {
    const unknown = Object.keys(diff).filter((k) => !KNOWN_KEYS.has(k) && !/^(fixed|pattern)[A-Z]/.test(k));
    if (unknown.length) throw new SnapshotError(`${diff.id}: the snapshot generator does not support ${unknown.join(', ')}`);
    if (!diff.id) throw new SnapshotError(`${this.profileUrl}: differential element ${diff.path} has no id`);
    merge(this.find(diff.id), diff, this.resolve, this.profileUrl);
  }

  /** The element with this id, creating slices and unfolding data type children on the way. */
  find(id: string): ElementDefinition {
    const existing = this.list.find((e) => e.id === id);
    if (existing) return existing;
    const dot = id.lastIndexOf('.');
    const last = id.slice(dot + 1);
    if (last.includes(':')) return this.addSlice(id, id.slice(0, id.lastIndexOf(':')), last.slice(last.indexOf(':') + 1));
    if (dot < 0) throw new SnapshotError(`${this.profileUrl}: no element '${id}' in the base`);
    const parent = this.find(id.slice(0, dot));
    this.unfold(parent);
    const found = this.list.find((e) => e.id === id);
    if (!found) throw new SnapshotError(`${this.profileUrl}: '${parent.path}' has no child '${last}'`);
    return found;
  }

  /** Inserts a slice after the sliced element, its children and any earlier slices. */
  private addSlice(id: string, slicedId: string, sliceName: string): ElementDefinition {
    const sliced = this.find(slicedId);
    if (!sliced.slicing) {
      if (sliced.type?.[0]?.code !== 'Extension') throw new SnapshotError(`${id}: '${slicedId}' is not sliced; add slicing to it first`);
      sliced.slicing = structuredClone(EXTENSION_SLICING);
    }
    const { slicing: _ignored, ...copy } = structuredClone(sliced);
    const slice: ElementDefinition = { ...copy, id, sliceName, min: 0 };
    this.list.splice(this.endOf(sliced), 0, slice);
    return slice;
  }

  /** Index just past the element, its descendants and its slices. */
  private endOf(element: ElementDefinition): number {
    const id = element.id as string;
    let i = this.list.indexOf(element) + 1;
    while (i < this.list.length && (this.list[i].id?.startsWith(`${id}.`) || this.list[i].id?.startsWith(`${id}:`))) i++;
    return i;
  }

  /** Adds the children of an element that the base snapshot does not list: a slice's, or a data type's. */
  private unfold(parent: ElementDefinition): void {
    const parentId = parent.id as string;
    if (this.list.some((e) => e.id?.startsWith(`${parentId}.`))) return;
    let children: ElementDefinition[];
    const unsliced = unslicedId(parentId);
    const backbone = unsliced !== parentId ? this.list.filter((e) => e.id?.startsWith(`${unsliced}.`) && !e.id.slice(unsliced.length).includes(':')) : [];
    if (backbone.length) {
      children = backbone.map((e) => ({ ...structuredClone(e), id: parentId + (e.id as string).slice(unsliced.length) }));
    } else {
      const types = parent.type ?? [];
      if (types.length !== 1) throw new SnapshotError(`${parentId}: restrict the type to one before constraining its children`);
      const typeSd = this.resolve(`http://hl7.org/fhir/StructureDefinition/${types[0].code}`);
      const typeElements = typeSd?.snapshot?.element;
      if (!typeElements) throw new SnapshotError(`${parentId}: no definition of type ${types[0].code}`);
      const root = typeElements[0].path as string;
      children = typeElements.slice(1).map((e) => ({
        ...structuredClone(e),
        id: parentId + (e.id as string).slice(root.length),
        path: parent.path + (e.path as string).slice(root.length),
      }));
    }
    this.list.splice(this.list.indexOf(parent) + 1, 0, ...children);
  }
}

/** `Patient.identifier:nhsNumber.system` → `Patient.identifier.system`. */
export function unslicedId(id: string): string {
  return id.replace(/:[^.]+/g, '');
}

const cardinality = (max: string | undefined): number => (max === undefined || max === '*' ? Infinity : Number(max));

/** Merges one differential element into its snapshot element, refusing anything that loosens the base. */
function merge(target: ElementDefinition, diff: ElementDefinition, resolve: Resolver, profileUrl: string): void {
  const at = diff.id;
  if (diff.min !== undefined) {
    if (!target.sliceName && diff.min < (target.min ?? 0)) throw new SnapshotError(`${at}: min ${diff.min} is below the base min ${target.min}`);
    target.min = diff.min;
  }
  if (diff.max !== undefined) {
    if (cardinality(diff.max) > cardinality(target.max)) throw new SnapshotError(`${at}: max ${diff.max} is above the base max ${target.max}`);
    target.max = diff.max;
  }
  if ((target.min ?? 0) > cardinality(target.max)) throw new SnapshotError(`${at}: min ${target.min} is above max ${target.max}`);
  if (diff.type) target.type = restrictTypes(at as string, target.type ?? [], diff.type, resolve);
  for (const [key, value] of Object.entries(diff)) {
    if (/^(fixed|pattern)[A-Z]/.test(key)) (target as unknown as Record<string, unknown>)[key] = structuredClone(value);
  }
  if (diff.binding) {
    if (target.binding?.strength === 'required' && diff.binding.strength !== 'required') throw new SnapshotError(`${at}: a required binding cannot be weakened`);
    target.binding = structuredClone(diff.binding);
  }
  if (diff.constraint) {
    target.constraint = [...(target.constraint ?? []), ...diff.constraint.map((c) => ({ ...structuredClone(c), source: c.source ?? profileUrl }))];
  }
  if (diff.slicing) target.slicing = structuredClone(diff.slicing);
  if (diff.mapping) target.mapping = [...(target.mapping ?? []), ...structuredClone(diff.mapping)];
  for (const key of DOC_KEYS) if (diff[key] !== undefined) (target as unknown as Record<string, unknown>)[key] = diff[key];
}

/** Each restricted type must be one the base allows; a target profile must be of a type the base may reference. */
function restrictTypes(at: string, base: NonNullable<ElementDefinition['type']>, diff: NonNullable<ElementDefinition['type']>, resolve: Resolver): NonNullable<ElementDefinition['type']> {
  return diff.map((type) => {
    const allowed = base.find((b) => b.code === type.code);
    if (!allowed) throw new SnapshotError(`${at}: type ${type.code} is not one of the base types ${base.map((b) => b.code).join(', ')}`);
    const baseTargets = (allowed.targetProfile ?? []).map((url) => resolve(url)?.type);
    for (const url of type.targetProfile ?? []) {
      const targetType = resolve(url)?.type;
      if (!targetType) throw new SnapshotError(`${at}: unknown target profile ${url}`);
      if (allowed.targetProfile && !baseTargets.includes(targetType) && !baseTargets.includes('Resource')) {
        throw new SnapshotError(`${at}: the base cannot reference a ${targetType}`);
      }
    }
    for (const url of type.profile ?? []) if (!resolve(url)) throw new SnapshotError(`${at}: unknown profile ${url}`);
    return structuredClone(type);
  });
}

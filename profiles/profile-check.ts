import { deepEquals, deepIncludes, evalFhirPathTyped, toTypedValue, type TypedValue } from '@medplum/core';
import type { CodeableConcept, Coding, OperationOutcomeIssue, Resource } from '@medplum/fhirtypes';
import { issue } from '../server/errors';
import { parseLiteral } from '../server/fhir/reference';
import { bindingProblem } from './bindings';
import { PRIMITIVE_TYPES } from './primitives';
import type { CompiledProfile, Invariant, Rule } from './profile-rules';
import { codesOfSystem } from './terminology';

// Checks a resource against the rules a profile adds, naming each element by FHIRPath and saying
// which rule failed in words ("CareTeam.participant: an active neighbourhood care team needs …").

interface Value {
  value: unknown;
  /** FHIRPath of this value, e.g. `Patient.identifier[0]`. */
  path: string;
  type: string;
}

type Lookup = (url: string) => CompiledProfile | undefined;

/** What a profile finds: errors, and notes (information) on what it could not check. */
export interface ProfileFindings {
  issues: OperationOutcomeIssue[];
  notes: OperationOutcomeIssue[];
}

export function profileIssues(resource: Resource, profile: CompiledProfile, lookup: Lookup): ProfileFindings {
  const checker = new Checker(profile, lookup, toTypedValue(resource));
  const root: Value = { value: resource, path: resource.resourceType, type: resource.resourceType };
  checker.value(profile.root, root);
  return { issues: checker.issues, notes: checker.notes };
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const cardinality = (min: number, max: number): string => (max === Infinity ? `at least ${min}` : min === max ? `exactly ${min}` : `${min} to ${max}`);
const json = (v: unknown): string => JSON.stringify(v);

class Checker {
  readonly issues: OperationOutcomeIssue[] = [];
  readonly notes: OperationOutcomeIssue[] = [];

  /** The definition whose rules are being applied, named in messages: the profile, or an extension it uses. */
  private name: string;

  constructor(
    private readonly profile: CompiledProfile,
    private readonly lookup: Lookup,
    private readonly rootResource: TypedValue,
  ) {
    this.name = profile.name;
  }

  private within(name: string, fn: () => void): void {
    const outer = this.name;
    this.name = name;
    try {
      fn();
    } finally {
      this.name = outer;
    }
  }

  /** All the rules of `rule` (and its children and slices) on one value of its element. */
  value(rule: Rule, v: Value): void {
    if (rule.allowedTypes && !rule.allowedTypes.includes(v.type)) {
      this.fail('structure', v.path, `${this.name} allows only ${rule.allowedTypes.join(' or ')} here, not ${v.type}`);
      return;
    }
    if (rule.targetTypes && v.type === 'Reference') this.reference(rule.targetTypes, v);
    if (rule.fixed !== undefined && !deepEquals(v.value, rule.fixed)) this.fail('value', v.path, `must be ${json(rule.fixed)} in ${this.name}; found ${json(v.value)}`);
    if (rule.pattern !== undefined && !deepIncludes(v.value, rule.pattern)) this.fail('value', v.path, `must include ${json(rule.pattern)} in ${this.name}`);
    if (rule.binding?.expansion) {
      const problem = bindingProblem(v.type, v.value, rule.binding.expansion);
      if (problem) this.fail('code-invalid', v.path, problem);
    } else if (rule.binding) {
      const text = `${v.path}: not checked against the required value set ${rule.binding.url} of ${this.name}, which this server cannot expand`;
      this.notes.push(issue('not-supported', text, v.path, 'information'));
    }
    if (rule.codesMustExist) this.codesExist(v);
    for (const invariant of rule.invariants) this.invariant(invariant, v);
    if (rule.extensionProfile) {
      const extension = this.lookup(rule.extensionProfile);
      if (extension) this.within(extension.name, () => this.value(extension.root, v));
    }
    if (!isObject(v.value)) return;
    for (const child of rule.children) this.element(child, valuesOf(v, child), `${v.path}.${child.name.replace('[x]', '')}`);
  }

  /** Cardinality, values and slices of one element within one parent value. */
  private element(rule: Rule, values: Value[], path: string): void {
    if (rule.checkCardinality && (values.length < rule.min || values.length > rule.max)) {
      const code = values.length < rule.min ? 'required' : 'structure';
      if (rule.sliceName) {
        const what = rule.short ? `${rule.short} (slice '${rule.sliceName}')` : `slice '${rule.sliceName}'`;
        this.fail(code, path, `${this.name} needs ${cardinality(rule.min, rule.max)} ${what}; found ${values.length}`);
      } else if (values.length === 0) {
        this.fail(code, path, `required by ${this.name}, but missing`);
      } else {
        this.fail(code, path, `${this.name} allows ${cardinality(rule.min, rule.max)}; found ${values.length}`);
      }
    }
    for (const v of values) this.value(rule, v);
    if (!rule.slicing?.slices.length) return;
    const bySlice = new Map<Rule, Value[]>(rule.slicing.slices.map((s) => [s, []]));
    for (const v of values) {
      const slice = rule.slicing.slices.find((s) => inSlice(s, v));
      if (slice) bySlice.get(slice)!.push(v);
      else if (rule.slicing.closed) this.fail('structure', v.path, `${this.name} allows only the slices ${rule.slicing.slices.map((s) => s.sliceName).join(', ')} here`);
    }
    for (const [slice, sliceValues] of bySlice) this.element(slice, sliceValues, path);
  }

  private invariant(invariant: Invariant, v: Value): void {
    const input: TypedValue[] = [v.path === this.profile.type ? this.rootResource : { type: v.type, value: v.value }];
    const variables = { '%resource': this.rootResource, '%rootResource': this.rootResource, '%context': input[0] };
    let passed: boolean;
    try {
      const result = evalFhirPathTyped(invariant.atom, input, variables);
      passed = result.length === 1 && result[0].value === true;
    } catch (err) {
      this.fail('invariant', v.path, `the rule ${invariant.key} could not be evaluated: ${(err as Error).message}`);
      return;
    }
    if (passed) return;
    let found = '';
    if (invariant.found) {
      const values = evalFhirPathTyped(invariant.found, input, variables).map((t) => (typeof t.value === 'string' ? `'${t.value}'` : json(t.value)));
      found = `; found ${values.length ? values.join(', ') : 'nothing'}`;
    }
    this.fail('invariant', invariant.location ?? v.path, `${invariant.human}${found} (${invariant.key})`);
  }

  /** A code claimed to be from a CodeSystem the server holds completely must be one of its codes: https://hl7.org/fhir/R4/terminologies.html#extensible */
  private codesExist(v: Value): void {
    const codings: Coding[] = v.type === 'Coding' ? [v.value as Coding] : v.type === 'CodeableConcept' ? ((v.value as CodeableConcept).coding ?? []) : [];
    for (const coding of codings) {
      if (!coding?.system || !coding.code) continue;
      const codes = codesOfSystem(coding.system);
      if (codes && !codes.has(coding.code)) this.fail('code-invalid', v.path, `Code '${coding.code}' is not in the code system ${coding.system}`);
    }
  }

  private reference(targetTypes: string[], v: Value): void {
    const ref = v.value as { reference?: string; type?: string };
    const type = ref.reference?.startsWith('#') ? undefined : (referencedType(ref.reference) ?? ref.type);
    if (type && !targetTypes.includes(type)) {
      this.fail('structure', v.path, `${this.name} needs a reference to ${targetTypes.join(' or ')}; found ${ref.reference ?? ref.type}`);
    }
  }

  private fail(code: OperationOutcomeIssue['code'], path: string, text: string): void {
    this.issues.push(issue(code, `${path}: ${text}`, path));
  }
}

/** `Patient/1`, `https://x/fhir/Patient/1/_history/2` → `Patient`; urn:uuid and contained references → undefined. */
function referencedType(reference: string | undefined): string | undefined {
  return reference ? parseLiteral(reference)?.resourceType : undefined;
}

/** The values of a child element in its parent, with their FHIRPath and type; `value[x]` finds `valueCodeableConcept`. */
function valuesOf(parent: Value, rule: Rule): Value[] {
  const obj = parent.value as Record<string, unknown>;
  if (rule.name.endsWith('[x]')) {
    const stem = rule.name.slice(0, -3);
    for (const key of Object.keys(obj)) {
      if (key.length <= stem.length || !key.startsWith(stem) || !/[A-Z]/.test(key[stem.length])) continue;
      const suffix = key.slice(stem.length);
      const lower = suffix[0].toLowerCase() + suffix.slice(1);
      return [{ value: obj[key], path: `${parent.path}.${stem}`, type: PRIMITIVE_TYPES.has(lower) ? lower : suffix }];
    }
    return [];
  }
  const raw = obj[rule.name];
  const type = rule.typeCode ?? 'Element';
  if (raw === undefined || raw === null) return [];
  if (!Array.isArray(raw)) return [{ value: raw, path: `${parent.path}.${rule.name}`, type }];
  return raw.map((value, i) => ({ value, path: `${parent.path}.${rule.name}[${i}]`, type }));
}

/** Whether a value belongs to a slice: https://hl7.org/fhir/R4/profiling.html#discriminator */
function inSlice(slice: Rule, v: Value): boolean {
  for (const [path, expected] of slice.discriminatorValues ?? []) {
    const actual = path === '$this' ? v.value : isObject(v.value) ? v.value[path] : undefined;
    if (actual === undefined) return false;
    if (expected.fixed !== undefined && !deepEquals(actual, expected.fixed)) return false;
    if (expected.pattern !== undefined && !deepIncludes(actual, expected.pattern)) return false;
    if (expected.fixed === undefined && expected.pattern === undefined) {
      if (!expected.binding || bindingProblem(path === '$this' ? v.type : 'code', actual, expected.binding)) return false;
    }
  }
  return true;
}

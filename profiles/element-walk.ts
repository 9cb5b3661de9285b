import type { OperationOutcomeIssue } from '@medplum/fhirtypes';
import { issue } from '../server/errors';
import { bindingProblem } from './bindings';
import type { Field, FieldTable } from './element-index';
import { primitiveProblem } from './primitives';
import { extensionContextProblem } from './extension-context';
import { referenceProblem } from './references';

/** What one walk over a resource found: format problems (400) and broken required bindings (422, reported later). */
export interface WalkResult {
  format: OperationOutcomeIssue[];
  bindings: OperationOutcomeIssue[];
  /** Extensions used where their definitions do not allow (422, with the bindings). */
  contexts: OperationOutcomeIssue[];
}

type JsonObject = Record<string, unknown>;

const isObject = (v: unknown): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A relative or conditional reference (`Type/id`, `Type?criteria`) to a type the element does not allow (R4 Reference(...) targets). */
function targetProblem(reference: string, targets: ReadonlySet<string>): string | undefined {
  const type = /^([A-Z][A-Za-z]+)[/?]/.exec(reference)?.[1];
  if (!type || targets.has(type)) return undefined;
  return `'${reference}' is a ${type}; this element refers to ${[...targets].join(' or ')}`;
}

/**
 * Walks a resource with the R4 element types in hand, so each primitive is checked as the type it is
 * (a `date` is not a `dateTime`) and each coded element against its required ValueSet, in one pass.
 * https://hl7.org/fhir/R4/json.html
 */
export class ElementWalker {
  constructor(
    private readonly tables: ReadonlyMap<string, FieldTable>,
    private readonly isResourceType: (type: string) => boolean,
    private readonly isDataType: (type: string) => boolean,
  ) {}

  walk(resource: JsonObject): WalkResult {
    const result: WalkResult = { format: [], bindings: [], contexts: [] };
    const type = resource.resourceType as string;
    this.containers = [];
    this.object(resource, type, type, true, result, type);
    return result;
  }

  /** The ids of the contained resources of each resource being walked, innermost last: what a `#id` reference can name. */
  private containers: Array<ReadonlySet<string>> = [];

  private object(obj: JsonObject, type: string, path: string, isResource: boolean, out: WalkResult, typePath: string): void {
    const table = this.tables.get(type);
    if (!table) return;
    // A contained resource's `#id` names its container's contained resources, as the container's do.
    if (isResource && !/\.contained\[\d+\]$/.test(path)) {
      const contained = Array.isArray(obj.contained) ? obj.contained : [];
      this.containers.push(new Set(contained.flatMap((c) => (isObject(c) && typeof c.id === 'string' ? [c.id] : []))));
      try {
        return this.fields(obj, type, table, path, isResource, out, typePath);
      } finally {
        this.containers.pop();
      }
    }
    this.fields(obj, type, table, path, isResource, out, typePath);
  }

  private fields(obj: JsonObject, type: string, table: FieldTable, path: string, isResource: boolean, out: WalkResult, typePath: string): void {
    const keys = Object.keys(obj);
    if (keys.length === 0) return void out.format.push(issue('structure', 'Empty object: R4 forbids empty elements, leave it out instead', path));
    // ele-1: "All FHIR elements must have a @value or children" (an id alone is not a child)
    if (!isResource && keys.length === 1 && keys[0] === 'id') out.format.push(issue('structure', 'An element with only an id is empty (ele-1)', path));
    for (const key of ['extension', 'modifierExtension']) {
      const extensions = obj[key];
      if (!Array.isArray(extensions)) continue;
      const site = { path: path.replace(/\[\d+\]/g, ''), typePath, isResource, parentExtension: type === 'Extension' && typeof obj.url === 'string' ? obj.url : undefined };
      extensions.forEach((ext, i) => {
        const url = isObject(ext) ? ext.url : undefined;
        const problem = typeof url === 'string' ? extensionContextProblem(url, site) : undefined;
        if (problem) out.contexts.push(issue('structure', problem, `${path}.${key}[${i}]`));
      });
    }
    if (type === 'Reference' && typeof obj.reference === 'string') {
      const problem = referenceProblem(obj.reference, this.isResourceType) ?? this.localProblem(obj.reference);
      if (problem) out.format.push(issue('value', problem, `${path}.reference`));
    }
    let choices: Map<string, string> | undefined;
    for (const key of keys) {
      const underscore = key.charCodeAt(0) === 95;
      const field = table.get(underscore ? key.slice(1) : key);
      if (!field) continue; // resourceType, or an unknown element the schema stage has reported
      const at = `${path}.${field.key}`;
      if (field.choice && !underscore) {
        choices ??= new Map();
        const other = choices.get(field.choice);
        if (other) out.format.push(issue('structure', `Choice element '${field.choice}' given twice: '${other}' and '${key}'; only one type may be used`, at));
        choices.set(field.choice, key);
      }
      const value = obj[key];
      if (Array.isArray(value) !== field.isArray && value !== null) {
        out.format.push(issue('structure', field.isArray ? `'${field.key}' repeats, so it must be an array` : `'${field.key}' takes a single value, not an array`, at));
        continue;
      }
      if (!Array.isArray(value)) {
        if (value === null) out.format.push(issue('structure', 'Null value: leave the element out instead', at));
        else this.value(value, field, underscore, at, out, `${typePath}.${field.key}`);
        continue;
      }
      if (value.length === 0) out.format.push(issue('structure', 'Empty array: R4 forbids empty elements, leave it out instead', at));
      const partner = obj[underscore ? field.key : `_${field.key}`];
      for (let i = 0; i < value.length; i++) {
        if (value[i] !== null) this.value(value[i], field, underscore, `${at}[${i}]`, out, `${typePath}.${field.key}`);
        // null only pads an array of primitives whose partner `_` array has an entry at that index
        else if (!Array.isArray(partner) || partner[i] == null) out.format.push(issue('structure', 'Null value with no value or extension at the same index of its partner array', `${at}[${i}]`));
      }
    }
  }

  /** ref-1: a `#id` reference names a resource the container holds (`#` alone is the container itself). */
  private localProblem(reference: string): string | undefined {
    if (!reference.startsWith('#') || reference === '#') return undefined;
    const local = this.containers.at(-1);
    return local && !local.has(reference.slice(1)) ? `'${reference}' names no contained resource of this resource (ref-1)` : undefined;
  }

  private value(value: unknown, field: Field, underscore: boolean, path: string, out: WalkResult, typePath: string): void {
    if (underscore) {
      // A primitive's extensions sit on the element itself: `ContactPoint.system`, `Patient.birthDate`.
      if (isObject(value)) this.object(value, 'Element', path, false, out, typePath);
      return;
    }
    if (field.primitive) {
      const problem = primitiveProblem(field.type, value);
      if (problem) out.format.push(issue('value', problem, path));
    } else if (isObject(value)) {
      const wrongTarget = field.targets && typeof value.reference === 'string' ? targetProblem(value.reference, field.targets) : undefined;
      if (wrongTarget) out.format.push(issue('value', wrongTarget, `${path}.reference`));
      const resourceType = field.type === 'Resource' ? value.resourceType : undefined;
      if (typeof resourceType === 'string') this.object(value, resourceType, path, true, out, resourceType);
      // A backbone element (PatientContact) is no reusable type: its extensions are placed by path.
      else this.object(value, field.type, path, false, out, this.isDataType(field.type) ? field.type : path.replace(/\[\d+\]/g, ''));
    }
    if (field.valueSet) {
      const problem = bindingProblem(field.type, value, field.valueSet);
      if (problem) out.bindings.push(issue('code-invalid', problem, path));
    }
  }
}

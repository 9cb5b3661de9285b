import { evalFhirPath, evalFhirPathTyped, toTypedValue, tryGetDataType } from '@medplum/core';
import type { Parameters, ParametersParameter, Resource } from '@medplum/fhirtypes';
import { badRequest, FhirError, unprocessable } from '../errors.js';

/**
 * FHIRPath Patch: https://hl7.org/fhir/R4/fhirpatch.html. Written here because neither @medplum/core
 * nor another maintained library applies it; FHIRPath evaluation itself is @medplum/core's.
 */
export function applyFhirPathPatch(resource: Resource, patch: Parameters): Resource {
  const target = structuredClone(resource) as unknown as Record<string, unknown>;
  const operations: unknown = patch.parameter ?? [];
  if (!Array.isArray(operations)) throw badRequest('Parameters.parameter must be an array', 'Parameters.parameter');
  operations.forEach((op: ParametersParameter | null, i) => {
    const where = `Parameters.parameter[${i}]`;
    if (op?.name !== 'operation') throw badRequest(`FHIRPath Patch parameters must be named 'operation'`, `${where}.name`);
    try {
      applyOperation(target, op, where);
    } catch (err) {
      // What a client's path, parts or values break (an expression that does not parse, a part that is
      // no list, a value nested past the stack) is the patch's fault: a 400 that says which operation.
      if (err instanceof FhirError) throw err;
      throw badRequest(`${where}: the operation could not be applied: ${(err as Error).message}`, where);
    }
  });
  return target as unknown as Resource;
}

function part(op: ParametersParameter, name: string): ParametersParameter | undefined {
  return op.part?.find((p) => p.name === name);
}

function stringPart(op: ParametersParameter, name: string, where: string, required = true): string | undefined {
  const p = part(op, name);
  const v = p?.valueCode ?? p?.valueString ?? p?.valueUri;
  if (required && !v) throw badRequest(`The operation needs a '${name}' part`, `${where}.part`);
  return v;
}

function intPart(op: ParametersParameter, name: string, where: string): number {
  const v = part(op, name)?.valueInteger;
  if (v === undefined) throw badRequest(`The operation needs an integer '${name}' part`, `${where}.part`);
  return v;
}

/** The patch value: a value[x], or a complex value given as nested parts. */
function patchValue(op: ParametersParameter, where: string): unknown {
  const p = part(op, 'value');
  if (!p) throw badRequest(`The operation needs a 'value' part`, `${where}.part`);
  return valueOf(p);
}

function valueOf(p: ParametersParameter): unknown {
  const key = Object.keys(p).find((k) => k.startsWith('value') || k === 'resource');
  if (key) return (p as unknown as Record<string, unknown>)[key];
  const obj: Record<string, unknown> = {};
  for (const child of p.part ?? []) {
    const v = valueOf(child);
    const existing = obj[child.name];
    obj[child.name] = existing === undefined ? v : ([] as unknown[]).concat(existing, v);
  }
  return obj;
}

interface Slot {
  parent: Record<string, unknown>;
  name: string;
  /** Position when the element repeats. */
  index?: number;
}

function applyOperation(resource: Record<string, unknown>, op: ParametersParameter, where: string): void {
  const type = stringPart(op, 'type', where) as string;
  const path = stringPart(op, 'path', where) as string;
  switch (type) {
    case 'add': {
      const name = stringPart(op, 'name', where) as string;
      const container = single(resource, path);
      const value = patchValue(op, where);
      const existing = container[name];
      if (Array.isArray(existing)) existing.push(value);
      else if (existing === undefined) container[name] = isRepeating(resource, path, name) ? [value] : value;
      else throw unprocessable(`${path}.${name} already has a value; use replace`, path);
      return;
    }
    case 'insert': {
      const list = listAt(resource, path, where);
      const index = intPart(op, 'index', where);
      if (index < 0 || index > list.length) throw unprocessable(`Index ${index} is outside ${path} (length ${list.length})`, path);
      list.splice(index, 0, patchValue(op, where));
      return;
    }
    case 'delete': {
      const slots = locate(resource, path);
      if (slots.length > 1) throw unprocessable(`${path} selects ${slots.length} elements; delete needs at most one`, path);
      if (slots[0]) {
        removeSlot(slots[0]);
        pruneEmpty(resource);
      }
      return;
    }
    case 'replace': {
      const slots = locate(resource, path);
      if (slots.length !== 1) throw unprocessable(`${path} selects ${slots.length} elements; replace needs exactly one`, path);
      const { parent, name, index } = slots[0];
      const value = patchValue(op, where);
      if (index === undefined) parent[name] = value;
      else (parent[name] as unknown[])[index] = value;
      return;
    }
    case 'move': {
      const list = listAt(resource, path, where);
      const source = intPart(op, 'source', where);
      const destination = intPart(op, 'destination', where);
      if (source < 0 || source >= list.length || destination < 0 || destination >= list.length) {
        throw unprocessable(`move ${source} → ${destination} is outside ${path} (length ${list.length})`, path);
      }
      list.splice(destination, 0, ...list.splice(source, 1));
      return;
    }
    default:
      throw badRequest(`Unknown FHIRPath Patch operation type '${type}' (add, insert, delete, replace, move)`, `${where}.part`);
  }
}

function single(resource: Record<string, unknown>, path: string): Record<string, unknown> {
  const found = evalFhirPath(path, resource);
  if (found.length !== 1 || typeof found[0] !== 'object') throw unprocessable(`${path} must select exactly one element; it selects ${found.length}`, path);
  return found[0] as Record<string, unknown>;
}

function listAt(resource: Record<string, unknown>, path: string, where: string): unknown[] {
  const slots = locate(resource, path);
  const first = slots[0];
  if (!first) throw unprocessable(`${path} selects nothing`, `${where}.part`);
  const list = first.parent[first.name];
  if (!Array.isArray(list)) throw unprocessable(`${path} is not a list`, path);
  return list;
}

/**
 * Removes what a delete left empty (`contact: [{}]` after deleting its only name): R4 forbids empty
 * elements, so the delete takes them too, as HL7's r4/patch test cases expect.
 */
function pruneEmpty(node: Record<string, unknown>): void {
  for (const [key, value] of Object.entries(node)) {
    if (Array.isArray(value)) {
      for (const item of value) if (item && typeof item === 'object') pruneEmpty(item as Record<string, unknown>);
      const kept = value.filter((item) => !(item && typeof item === 'object' && !Array.isArray(item) && Object.keys(item).length === 0));
      if (kept.length) node[key] = kept;
      else delete node[key];
    } else if (value && typeof value === 'object') {
      pruneEmpty(value as Record<string, unknown>);
      if (!Object.keys(value).length) delete node[key];
    }
  }
}

function removeSlot({ parent, name, index }: Slot): void {
  const value = parent[name];
  if (index !== undefined && Array.isArray(value)) {
    value.splice(index, 1);
    if (value.length === 0) delete parent[name];
  } else {
    delete parent[name];
  }
}

/**
 * Where the elements a path selects live. Objects are found by identity in the tree; primitives
 * through the path's last step (`Patient.birthDate`, `Patient.name[0].given[1]`).
 */
function locate(resource: Record<string, unknown>, path: string): Slot[] {
  const found = evalFhirPath(path, resource);
  const slots: Slot[] = [];
  for (const value of found) {
    if (value !== null && typeof value === 'object') {
      const slot = findByIdentity(resource, value);
      if (slot) slots.push(slot);
      continue;
    }
    const step = /^(.*)\.([A-Za-z][A-Za-z0-9]*)(?:\[(\d+)\])?$/.exec(path);
    if (!step) throw unprocessable(`Cannot locate the primitive selected by ${path}`, path);
    for (const parent of evalFhirPath(step[1], resource) as Record<string, unknown>[]) {
      const v: unknown = parent[step[2]];
      if (Array.isArray(v)) {
        const idx = step[3] !== undefined ? Number(step[3]) : v.indexOf(value);
        if (v[idx] === value) slots.push({ parent, name: step[2], index: idx });
      } else if (v === value) {
        slots.push({ parent, name: step[2] });
      }
    }
  }
  return slots.filter((s, i) => slots.findIndex((t) => t.parent === s.parent && t.name === s.name && t.index === s.index) === i);
}

function findByIdentity(node: Record<string, unknown>, target: unknown): Slot | undefined {
  for (const [name, v] of Object.entries(node)) {
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) {
        const item: unknown = v[i];
        if (item === target) return { parent: node, name, index: i };
        if (item && typeof item === 'object') {
          const deeper = findByIdentity(item as Record<string, unknown>, target);
          if (deeper) return deeper;
        }
      }
    } else if (v && typeof v === 'object') {
      if (v === target) return { parent: node, name };
      const deeper = findByIdentity(v as Record<string, unknown>, target);
      if (deeper) return deeper;
    }
  }
  return undefined;
}

/** Whether `name` repeats on the element at `path`, from the R4 type definitions. */
function isRepeating(resource: Record<string, unknown>, path: string, name: string): boolean {
  const typed = evalFhirPathTyped(path, [toTypedValue(resource)]);
  const element = typed[0] && tryGetDataType(typed[0].type)?.elements[name];
  return Boolean(element && (element.isArray || element.max > 1));
}

import { AUDIT_TRAIL_APART, AUDIT_TRAIL_TYPE, malformedValue, ParamError } from './parse.js';
import type { SearchRegistry } from './registry.js';

/** Result parameters (https://hl7.org/fhir/R4/search.html#return): they shape the Bundle, they do not filter. */
export interface Controls {
  count: number;
  sort: { code: string; desc: boolean }[];
  include: IncludeSpec[];
  revinclude: IncludeSpec[];
  total?: 'none' | 'estimate' | 'accurate';
  summary?: 'true' | 'text' | 'data' | 'count' | 'false';
  elements?: string[];
  cursor?: Cursor;
  types?: string[];
}

export interface IncludeSpec {
  sourceType: string;
  /** Reference parameter codes (all of sourceType's for `*`). */
  params: string[];
  targetType?: string;
  iterate: boolean;
  raw: string;
}

/** Keyset position: the sort key values, type and id of the last (next) or first (previous) entry of a page. */
export interface Cursor {
  keys: unknown[];
  type: string;
  id: string;
  dir: 'next' | 'prev';
}

export const CURSOR_PARAM = '_cursor';

/** Parameters handled by the HTTP layer; accepted so they survive into paging links. */
const PASSTHROUGH = new Set(['_format', '_pretty']);
const UNSUPPORTED = new Set(['_contained', '_containedType', '_text', '_content', '_list', '_query', '_filter', '_score']);

/** Whether this server searches by the parameter: R4 defines `_text`, `_content`, `_query` and the like on every resource, which it does not offer. */
export function isSupported(code: string): boolean {
  return !UNSUPPORTED.has(code);
}

export function isControl(name: string): boolean {
  const base = name.split(':')[0];
  return ['_count', '_sort', '_include', '_revinclude', '_total', '_summary', '_elements', CURSOR_PARAM, '_type'].includes(base) || PASSTHROUGH.has(base) || UNSUPPORTED.has(base);
}

/**
 * Applies one result parameter to `controls`, or throws ParamError. Sort and include names are
 * checked against the registry for every searched type, so a typo is reported, not ignored.
 */
export function applyControl(registry: SearchRegistry, controls: Controls, types: string[], name: string, value: string, maxCount: number): void {
  const [base, modifier] = name.split(':');
  if (UNSUPPORTED.has(base)) throw new ParamError(name, `Search parameter '${base}' is not supported`);
  switch (base) {
    case '_count': {
      if (!/^\d+$/.test(value)) throw malformedValue(name, `_count must be a non-negative integer, not '${value}'`);
      // A server may return fewer than asked (https://hl7.org/fhir/R4/search.html#count).
      controls.count = Math.min(Number(value), maxCount);
      break;
    }
    case '_sort':
      controls.sort = value.split(',').map((key) => {
        const desc = key.startsWith('-');
        const code = desc ? key.slice(1) : key;
        for (const type of types) {
          const def = registry.get(type, code);
          if (!def || def.type === 'composite' || def.type === 'special') throw new ParamError(name, `Cannot sort ${type} by '${code}'`);
        }
        return { code, desc };
      });
      break;
    case '_include':
    case '_revinclude': {
      if (modifier !== undefined && modifier !== 'iterate' && modifier !== 'recurse') throw new ParamError(name, `Unknown modifier ':${modifier}' on ${base}`);
      const spec = parseInclude(registry, name, value, modifier !== undefined);
      if (base === '_revinclude' && spec.sourceType === AUDIT_TRAIL_TYPE) throw new ParamError(name, AUDIT_TRAIL_APART);
      (base === '_include' ? controls.include : controls.revinclude).push(spec);
      break;
    }
    case '_total':
      if (value !== 'none' && value !== 'estimate' && value !== 'accurate') throw malformedValue(name, `_total must be none, estimate or accurate`);
      controls.total = value;
      break;
    case '_summary':
      if (!['true', 'text', 'data', 'count', 'false'].includes(value)) throw malformedValue(name, `_summary must be true, text, data, count or false`);
      controls.summary = value as Controls['summary'];
      break;
    case '_elements':
      controls.elements = value.split(',').map((e) => e.trim()).filter(Boolean);
      break;
    case CURSOR_PARAM:
      controls.cursor = decodeCursor(name, value);
      break;
    case '_type':
      break; // read before the filters, see engine.ts
    default:
      break; // _format, _pretty
  }
}

function parseInclude(registry: SearchRegistry, name: string, value: string, iterate: boolean): IncludeSpec {
  if (value === '*') return { sourceType: '*', params: [], iterate, raw: value };
  const [sourceType, code, targetType] = value.split(':');
  if (!sourceType || !code || !registry.isResourceType(sourceType)) throw new ParamError(name, `'${value}' is not Type:parameter[:targetType]`);
  if (targetType && !registry.isResourceType(targetType)) throw new ParamError(name, `Unknown target type '${targetType}'`);
  const params =
    code === '*'
      ? registry.params(sourceType).filter((d) => d.type === 'reference').map((d) => d.code)
      : [code];
  for (const p of params) {
    if (registry.get(sourceType, p)?.type !== 'reference') throw new ParamError(name, `'${p}' is not a reference parameter of ${sourceType}`);
  }
  return { sourceType, params, ...(targetType ? { targetType } : {}), iterate, raw: value };
}

export function encodeCursor(cursor: Cursor): string {
  return Buffer.from(JSON.stringify([cursor.dir, cursor.type, cursor.id, cursor.keys])).toString('base64url');
}

function decodeCursor(name: string, value: string): Cursor {
  try {
    const [dir, type, id, keys] = JSON.parse(Buffer.from(value, 'base64url').toString('utf8')) as [Cursor['dir'], string, string, unknown[]];
    if ((dir === 'next' || dir === 'prev') && typeof type === 'string' && typeof id === 'string' && Array.isArray(keys)) return { dir, type, id, keys };
  } catch {
    // fall through to the error below
  }
  throw new ParamError(name, 'Malformed paging cursor');
}

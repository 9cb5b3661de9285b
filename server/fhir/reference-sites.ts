/**
 * Every `Reference.reference` in a resource, wherever it sits: nested elements, extensions,
 * contained resources. A key named `reference` holding a string is a Reference.reference in every
 * R4 resource, so a plain walk of the JSON finds them all without the StructureDefinitions.
 * Narrative (`text.div`) is a string, never walked into: its links are left as written.
 */
export interface ReferenceSite {
  holder: Record<string, unknown>;
  value: string;
  /** FHIRPath of the Reference element, e.g. `Bundle.entry[3].resource.subject`; built only when asked (errors). */
  path(): string;
}

type Segment = string | number;

export function referenceSites(value: unknown, root: string): ReferenceSite[] {
  const sites: ReferenceSite[] = [];
  const trail: Segment[] = [];
  const walk = (node: unknown): void => {
    if (Array.isArray(node)) {
      for (let i = 0; i < node.length; i++) {
        trail.push(i);
        walk(node[i]);
        trail.pop();
      }
      return;
    }
    if (node === null || typeof node !== 'object') return;
    const obj = node as Record<string, unknown>;
    for (const key in obj) {
      const v = obj[key];
      if (key === 'reference' && typeof v === 'string') {
        const at = trail.slice();
        sites.push({ holder: obj, value: v, path: () => root + at.map((s) => (typeof s === 'number' ? `[${s}]` : `.${s}`)).join('') });
      } else if (v !== null && typeof v === 'object') {
        trail.push(key);
        walk(v);
        trail.pop();
      }
    }
  };
  walk(value);
  return sites;
}

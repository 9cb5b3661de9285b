/** Turns a JSON pointer into a FHIRPath-style expression: `/name/0/given/1` → `Patient.name[0].given[1]`. */
export function pointerToExpression(root: string, pointer: string): string {
  let expression = root;
  if (!pointer) return expression;
  for (const raw of pointer.slice(1).split('/')) {
    const segment = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    expression += /^\d+$/.test(segment) ? `[${segment}]` : `.${elementName(segment)}`;
  }
  return expression;
}

/** `_birthDate` holds the id/extensions of `birthDate`; FHIRPath names both `birthDate`. */
export function elementName(jsonKey: string): string {
  return jsonKey.startsWith('_') ? jsonKey.slice(1) : jsonKey;
}

/**
 * Search value syntax every parameter type shares: escaping (https://hl7.org/fhir/R4/search.html#escaping)
 * and prefix scans over text. What a value means is its type's business (types/).
 */

/**
 * Upper bound (exclusive) of the strings starting with `prefix`, in code point order. Code point
 * order is the byte order of UTF-8, i.e. COLLATE "C", so `value >= prefix AND value < upper` is an
 * index range scan rather than a LIKE the planner may not use with a bound parameter.
 */
export function prefixUpperBound(prefix: string): string {
  const points = [...prefix];
  const last = points.pop();
  if (last === undefined) return '\u{10FFFF}';
  const next = last.codePointAt(0)! + 1;
  // Skip the surrogate block, which cannot appear in a valid string.
  return points.join('') + String.fromCodePoint(next >= 0xd800 && next <= 0xdfff ? 0xe000 : next);
}

export function startsWithPrefix(value: string, prefix: string): boolean {
  return value >= prefix && value < prefixUpperBound(prefix);
}

/** Splits a search value on unescaped commas (OR) and unescapes \, \$ \| (https://hl7.org/fhir/R4/search.html#escaping). */
export function splitOr(value: string): string[] {
  return splitEscaped(value, ',');
}

export function splitEscaped(value: string, sep: ',' | '$' | '|'): string[] {
  const parts: string[] = [];
  let current = '';
  for (let i = 0; i < value.length; i++) {
    const c = value[i];
    if (c === '\\' && i + 1 < value.length) {
      current += c + value[++i];
    } else if (c === sep) {
      parts.push(current);
      current = '';
    } else {
      current += c;
    }
  }
  parts.push(current);
  return parts;
}

export function unescape(value: string): string {
  return value.replace(/\\([\\,$|])/g, '$1');
}

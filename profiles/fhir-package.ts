import type { CodeSystem, MessageDefinition, Resource, StructureDefinition, ValueSet } from '@medplum/fhirtypes';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';

// FHIR NPM packages: https://hl7.org/fhir/packages.html — a folder (or a .tgz of one) named
// `package/` holding `package.json` and one JSON file per resource. Only the conformance resources
// this server uses are read; examples and other resources in the package are skipped.

export type ConformanceResource = StructureDefinition | ValueSet | CodeSystem | MessageDefinition;

export interface FhirPackage {
  name: string;
  version: string;
  /** Where it was read from, for messages. */
  source: string;
  resources: PackagedResource[];
}

export interface PackagedResource {
  /** `package/StructureDefinition-x.json`, for messages naming the file at fault. */
  file: string;
  resource: ConformanceResource;
}

/** A package that cannot be read; the message names the file at fault. */
export class PackageError extends Error {}

const CONFORMANCE_TYPES = new Set(['StructureDefinition', 'ValueSet', 'CodeSystem', 'MessageDefinition']);

/** Reads a package from a folder (holding `package/` or being it) or a `.tgz`. */
export function readFhirPackage(location: string): FhirPackage {
  if (!existsSync(location)) throw new PackageError(`${location}: no such file or folder`);
  const files = statSync(location).isDirectory() ? folderFiles(location) : tarballFiles(location);
  const manifestName = [...files.keys()].find((name) => name === 'package/package.json');
  if (!manifestName) throw new PackageError(`${location}: not a FHIR package (no package/package.json)`);
  const manifest = parse(files.get(manifestName)!, `${location}: ${manifestName}`) as { name?: string; version?: string };
  if (!manifest.name || !manifest.version) throw new PackageError(`${location}: ${manifestName} needs a name and a version`);
  const resources: PackagedResource[] = [];
  for (const [name, bytes] of files) {
    if (!/^package\/[^/]+\.json$/.test(name) || name === manifestName || path.basename(name).startsWith('.')) continue;
    const where = `${location}: ${name}`;
    const resource = parse(bytes, where) as Resource & { url?: string };
    if (!CONFORMANCE_TYPES.has(resource?.resourceType)) continue;
    if (!resource.url) throw new PackageError(`${where}: a ${resource.resourceType} needs a canonical url`);
    if (!resource.id) throw new PackageError(`${where}: a ${resource.resourceType} needs an id`);
    resources.push({ file: name, resource: resource as ConformanceResource });
  }
  return { name: manifest.name, version: manifest.version, source: location, resources };
}

function parse(bytes: Buffer, where: string): unknown {
  try {
    return JSON.parse(bytes.toString('utf8'));
  } catch (err) {
    throw new PackageError(`${where}: not JSON (${(err as Error).message})`);
  }
}

/** `package/…` paths → contents, for a folder that is `package/` itself or holds it. */
function folderFiles(folder: string): Map<string, Buffer> {
  const root = existsSync(path.join(folder, 'package', 'package.json')) ? path.join(folder, 'package') : folder;
  const files = new Map<string, Buffer>();
  for (const name of readdirSync(root)) {
    if (name.endsWith('.json')) files.set(`package/${name}`, readFileSync(path.join(root, name)));
  }
  return files;
}

/**
 * The files of a gzipped tar (ustar), by path. Written here because a package needs only regular
 * files read once at start, and no tar reader is among the project's dependencies.
 */
function tarballFiles(file: string): Map<string, Buffer> {
  let tar: Buffer;
  try {
    tar = gunzipSync(readFileSync(file));
  } catch (err) {
    throw new PackageError(`${file}: not a gzipped package (${(err as Error).message})`);
  }
  const files = new Map<string, Buffer>();
  const text = (start: number, length: number): string => tar.toString('utf8', start, start + length).replace(/\0.*$/s, '');
  let longName: string | undefined;
  for (let offset = 0; offset + 512 <= tar.length; ) {
    const name = text(offset, 100);
    if (!name) break;
    const size = parseInt(text(offset + 124, 12).trim() || '0', 8);
    const kind = text(offset + 156, 1) || '0';
    const prefix = text(offset + 345, 155);
    const body = tar.subarray(offset + 512, offset + 512 + size);
    if (kind === 'L') longName = body.toString('utf8').replace(/\0.*$/s, '');
    else if (kind === '0' || kind === '7') {
      files.set((longName ?? (prefix ? `${prefix}/${name}` : name)).replace(/^\.\//, ''), body);
      longName = undefined;
    }
    offset += 512 + Math.ceil(size / 512) * 512;
  }
  return files;
}

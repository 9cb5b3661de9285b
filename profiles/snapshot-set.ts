import type { StructureDefinition } from '@medplum/fhirtypes';
import { generateSnapshot, SnapshotError, type Resolver } from './snapshot';

// Snapshots for every StructureDefinition of a set of packages that ships only a differential,
// each generated from its base (R4 core or another profile of the set, whichever comes first).

export interface PendingDefinition {
  /** Where it came from, for the message when its snapshot cannot be generated. */
  where: string;
  sd: StructureDefinition;
}

/** The definitions by canonical URL, each with a snapshot; throws a SnapshotError naming the file at fault. */
export function withSnapshots(definitions: readonly PendingDefinition[], core: Resolver): Map<string, StructureDefinition> {
  const pending = new Map(definitions.map((d) => [d.sd.url as string, d]));
  const done = new Map<string, StructureDefinition>();
  const inProgress = new Set<string>();
  const resolve: Resolver = (canonical) => {
    const url = canonical.split('|')[0];
    const known = done.get(url) ?? core(url);
    if (known) return known;
    const definition = pending.get(url);
    if (!definition) return undefined;
    if (inProgress.has(url)) throw new SnapshotError(`${definition.where}: ${url} derives from itself`);
    inProgress.add(url);
    let sd: StructureDefinition;
    try {
      sd = definition.sd.snapshot?.element?.length ? definition.sd : generateSnapshot(definition.sd, resolve);
    } catch (err) {
      const message = (err as Error).message;
      throw new SnapshotError(message.startsWith(definition.where) ? message : `${definition.where}: ${message}`);
    }
    inProgress.delete(url);
    done.set(url, sd);
    return sd;
  };
  for (const url of pending.keys()) resolve(url);
  return done;
}

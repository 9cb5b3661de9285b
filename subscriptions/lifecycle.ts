import type { Subscription } from '@medplum/fhirtypes';
import { FhirError } from '../server/errors.js';
import type { Store } from '../server/store/store.js';

/**
 * The server's own status changes (R4 subscription.html#status): requested -> active after a
 * successful handshake, -> error when delivery gives up (with Subscription.error saying why),
 * -> off when `end` has passed. Written as a new version through the store like any change, so
 * every process's subscription cache hears of it through the change log.
 * `from`: only change it if the status is still one of these (never overwrite a client's later change).
 */
export async function setStatus(store: Store, id: string, status: Subscription['status'], from: Subscription['status'][], error?: string): Promise<boolean> {
  for (let attempt = 0; attempt < 3; attempt++) {
    const current = await store.read('Subscription', id);
    if (!current?.content || current.deleted) return false;
    const sub = JSON.parse(current.content) as Subscription & { id: string };
    if (!from.includes(sub.status)) return false;
    const next: Subscription & { id: string } = { ...sub, status };
    if (error) next.error = error.slice(0, 1000);
    else delete next.error;
    try {
      await store.update(next, current.versionId);
      return true;
    } catch (err) {
      if (!(err instanceof FhirError && err.status === 412)) throw err; // a concurrent write: read again
    }
  }
  return false;
}

import { unprocessable } from '../errors.js';
import type { WriteCheck } from './write.js';

/**
 * A Slot or an Appointment that ends before it starts, or as it starts, can be neither offered nor
 * kept: $find would propose it as it is. 422 naming its end.
 */
export const endsAfterStart: WriteCheck = (resource) => {
  const { start, end } = resource as { start?: string; end?: string };
  if (start && end && Date.parse(end) <= Date.parse(start)) {
    throw unprocessable(`${resource.resourceType}.end (${end}) must be after its start (${start})`, `${resource.resourceType}.end`);
  }
  return Promise.resolve(resource);
};

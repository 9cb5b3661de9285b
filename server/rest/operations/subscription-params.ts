import type { Subscription } from '@medplum/fhirtypes';
import { badRequest, notFound } from '../../errors.js';
import { toModel, type SubscriptionModel } from '../../../subscriptions/model.js';
import type { FhirContext, FhirRequest } from '../request.js';
import { parametersBody } from './parameters.js';

/** Values of an operation input parameter, from the query (GET) or a Parameters body (POST). */
export function inputs(req: FhirRequest, name: string): string[] {
  const fromQuery = req.query.getAll(name);
  const body = parametersBody(req);
  if (!body) return fromQuery;
  const fromBody = (body.parameter ?? [])
    .filter((p) => p.name === name)
    .map((p) => p.valueString ?? p.valueId ?? p.valueCode ?? p.valueInteger?.toString() ?? p.valueInstant ?? '')
    .filter(Boolean);
  return [...fromQuery, ...fromBody];
}

export function wholeNumber(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value)) throw badRequest(`${name} must be a whole number; got '${value}'`, name);
  return Number(value);
}

/** The current version of a Subscription, or 404. */
export async function loadSubscription(ctx: FhirContext, id: string): Promise<{ resource: Subscription & { id: string }; model: SubscriptionModel }> {
  const v = await ctx.store.read('Subscription', id);
  if (!v?.content || v.deleted) throw notFound(`Subscription/${id} is not known`);
  const resource = JSON.parse(v.content) as Subscription & { id: string };
  return { resource, model: toModel(resource) };
}

import { randomBytes } from 'node:crypto';
import type { Parameters } from '@medplum/fhirtypes';
import { websocketUrl } from '../../../subscriptions/websocket-channel.js';
import { badRequest } from '../../errors.js';
import type { Operation } from '../operations.js';
import { inputs, loadSubscription } from './subscription-params.js';

/**
 * $get-ws-binding-token (Backport IG backport-subscription-get-ws-binding-token): a short-lived
 * random token the client sends as `bind-with-token <token>` on the websocket. Stored in the
 * database, so any API process can accept the bind. Tokens live `ttlSeconds` (SUBSCRIPTION_WS_TOKEN_TTL).
 */
export function wsBindingTokenOperation(ttlSeconds: number): Operation {
  return {
    name: 'get-ws-binding-token',
    type: true,
    instance: true,
    resourceTypes: ['Subscription'],
    idempotent: true,
    definition: 'http://hl7.org/fhir/uv/subscriptions-backport/OperationDefinition/backport-subscription-get-ws-binding-token',
    async handler(req, ctx, params) {
      const ids = params.id ? [params.id] : inputs(req, 'id');
      if (!ids.length) throw badRequest('Name the subscriptions: invoke on Subscription/[id] or pass one or more id parameters', 'id');
      for (const id of ids) {
        const { model } = await loadSubscription(ctx, id);
        if (model.channelType !== 'websocket') throw badRequest(`Subscription/${id} does not use the websocket channel`, 'id');
      }
      const token = randomBytes(24).toString('base64url');
      const expires = new Date(Date.now() + ttlSeconds * 1000);
      await ctx.store.sql.query('INSERT INTO subscription_ws_token (token, subscription_ids, expires_at) VALUES ($1, $2, $3)', [token, ids, expires]);
      await ctx.store.sql.query('DELETE FROM subscription_ws_token WHERE expires_at < now()');
      const body: Parameters = {
        resourceType: 'Parameters',
        parameter: [
          { name: 'token', valueString: token },
          { name: 'expiration', valueDateTime: expires.toISOString() },
          ...ids.map((id) => ({ name: 'subscription', valueString: `Subscription/${id}` })),
          { name: 'websocket-url', valueUrl: websocketUrl(ctx.baseUrl) },
        ],
      };
      return { status: 200, body };
    },
  };
}

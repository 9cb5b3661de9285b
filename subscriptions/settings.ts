import { loadSubscriptionConfig, type SubscriptionConfig } from './config.js';
import { EndpointPolicy } from './endpoint-policy.js';

interface Settings {
  config: SubscriptionConfig;
  policy: EndpointPolicy;
}

let current: Settings | undefined;

/**
 * The subscription settings the REST layer needs (endpoint allow-list, token lifetime). Set once
 * when the server starts; the REST context carries no config, and operations are registered globally.
 */
export function configureSubscriptions(config: SubscriptionConfig): void {
  current = { config, policy: new EndpointPolicy(config.endpointAllowList) };
}

export function subscriptionSettings(): Settings {
  if (!current) configureSubscriptions(loadSubscriptionConfig());
  return current!;
}

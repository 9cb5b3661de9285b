import type { Principal } from './principal.js';

const MAX_ENTRIES = 10_000;

/**
 * Access tokens this process has verified, until they expire: an ES384 signature check on every
 * request costs more than the search it guards. The token string is the key, so a changed token is
 * a new verification; revocation is still checked per request against the client registry.
 */
export class VerifiedTokens {
  private readonly tokens = new Map<string, { principal: Principal; expiresAt: number }>();

  get(token: string): Principal | undefined {
    const hit = this.tokens.get(token);
    if (!hit) return undefined;
    if (hit.expiresAt > Date.now()) return hit.principal;
    this.tokens.delete(token);
    return undefined;
  }

  add(token: string, verified: { principal: Principal; expiresAt: number }): Principal {
    // Oldest first: Map keeps insertion order.
    if (this.tokens.size >= MAX_ENTRIES) this.tokens.delete(this.tokens.keys().next().value!);
    this.tokens.set(token, verified);
    return verified.principal;
  }
}

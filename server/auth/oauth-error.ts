/** An RFC 6749 section 5.2 error answer of the token endpoint. */
export class OAuthError extends Error {
  constructor(
    readonly error: 'invalid_request' | 'invalid_client' | 'invalid_scope' | 'unsupported_grant_type',
    readonly description: string,
    /** The status of a request refused before it was read (413 too large, 415 an encoding it cannot undo). */
    private readonly httpStatus?: number,
  ) {
    super(description);
  }

  /** 401 for a client that failed to authenticate, 400 for everything else unless given. */
  get status(): number {
    return this.httpStatus ?? (this.error === 'invalid_client' ? 401 : 400);
  }
}

/** Not the caller's, or no such token. Others' tokens look exactly like missing ones, so ids cannot be probed. */
export class TokenNotFoundError extends Error {
  override readonly name = "TokenNotFoundError";
  constructor() {
    super("no such token");
  }
}

/** A request field is well-formed but not allowed; the route answers 422 naming the field. */
export class TokenValidationError extends Error {
  override readonly name = "TokenValidationError";
  constructor(readonly field: string, message: string) {
    super(`${field}: ${message}`);
  }
}

/** The request is valid but the token's state forbids it (revoked, expired, too many tokens); 409. */
export class TokenConflictError extends Error {
  override readonly name = "TokenConflictError";
  constructor(readonly code: string, message: string) {
    super(message);
  }
}

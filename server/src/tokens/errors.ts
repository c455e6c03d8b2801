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
  constructor(
    readonly field: string,
    readonly problem: string,
  ) {
    super(`${field}: ${problem}`);
  }
}

/** The request is valid but the token's state forbids it (revoked, expired, too many tokens); 409. */
export class TokenConflictError extends Error {
  override readonly name = "TokenConflictError";
  constructor(
    readonly code: "token_not_renewable" | "too_many_tokens",
    message: string,
  ) {
    super(message);
  }
}

import { randomUUID } from "node:crypto";
import { and, count, desc, eq, gt, isNull, or, sql, type SQL } from "drizzle-orm";
import { withDatabase, type Database, type Db } from "../db/index.ts";
import { apiTokens, revocations, type ApiTokenRow } from "../db/schema.ts";
import { TokenConflictError, TokenNotFoundError, TokenValidationError } from "./errors.ts";
import { generateToken, hashToken, parseToken, TOKEN_PREFIX } from "./format.ts";
import { LastUsedBatcher } from "./last-used.ts";

/** Every replica LISTENs here; the payload is the new revocation's seq. */
export const REVOCATION_CHANNEL = "altgate_revocations";
export const API_TOKEN_CLIENT_ID = "altgate-api-token";

// Two-key advisory locks: [namespace, id]. Revocation inserts take one lock so that seq order equals
// commit order; otherwise a reader could advance its cursor past a seq whose transaction commits later.
const LOCK_NAMESPACE = 0x616c7467;
const REVOCATION_LOCK_ID = 1;
const OWNER_LOCK_NAMESPACE = 0x616c7468;

export interface Owner {
  subject: string;
  username: string;
  roles: readonly string[];
  scopes?: readonly string[];
}

export interface CreateTokenInput {
  name: string;
  lifetime_s?: number;
  roles: readonly string[];
  scopes?: readonly string[];
}

/** A token as the API shows it: never the secret nor its hash. */
export interface TokenRecord {
  id: string;
  name: string;
  owner_subject: string;
  owner_username: string;
  /** `agt_…` and the token's last four characters, enough to recognise it. */
  display: string;
  roles: string[];
  scopes: string[];
  created_at: string;
  expires_at: string;
  last_used_at: string | null;
  revoked_at: string | null;
  revoked_by: string | null;
  status: "active" | "expired" | "revoked";
}

export type IntrospectionResponse =
  | { active: false }
  | {
      active: true;
      sub: string;
      username: string;
      client_id: typeof API_TOKEN_CLIENT_ID;
      token_type: "api-token";
      exp: number;
      iat: number;
      jti: string;
      scope: string;
      realm_access: { roles: string[] };
    };

export interface TokenServiceConfig {
  /** Upper bound for lifetime_s at creation and renewal. */
  maxLifetimeS: number;
  /** lifetime_s when the request gives none; defaults to min(30 days, maxLifetimeS). */
  defaultLifetimeS?: number;
  /** Unrevoked, unexpired tokens one owner may hold; defaults to 50. */
  maxActiveTokensPerOwner?: number;
  /**
   * Cap on the exp recorded for a Keycloak access token. Its claims are not verified here, so a
   * made-up far-future exp must not pin an entry in every feed for years. Defaults to 1 day.
   */
  oidcMaxLifetimeS?: number;
  /** How often last-used times are written; defaults to 5 s. */
  lastUsedFlushMs?: number;
  now?: () => number;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const NAME_MAX = 100;
const LIST_LIMIT = 500;

function toSeconds(d: Date): number {
  return Math.floor(d.getTime() / 1000);
}

function uniq(values: readonly string[]): string[] {
  return [...new Set(values)];
}

export class TokenService {
  readonly maxLifetimeS: number;
  readonly defaultLifetimeS: number;
  private readonly maxActive: number;
  private readonly oidcMaxLifetimeS: number;
  private readonly now: () => number;
  private readonly db: Db;
  readonly lastUsed: LastUsedBatcher;

  constructor(database: Database, config: TokenServiceConfig) {
    if (!Number.isInteger(config.maxLifetimeS) || config.maxLifetimeS < 1) throw new Error("maxLifetimeS must be a positive integer");
    this.db = database.db;
    this.maxLifetimeS = config.maxLifetimeS;
    this.defaultLifetimeS = Math.min(config.defaultLifetimeS ?? 30 * 86400, config.maxLifetimeS);
    this.maxActive = config.maxActiveTokensPerOwner ?? 50;
    this.oidcMaxLifetimeS = config.oidcMaxLifetimeS ?? 86400;
    this.now = config.now ?? Date.now;
    this.lastUsed = new LastUsedBatcher(database.pool, config.lastUsedFlushMs ?? 5000);
  }

  /** Writes pending last-used times; call on shutdown before closing the pool. */
  async close(): Promise<void> {
    await this.lastUsed.stop().catch(() => undefined);
  }

  async create(owner: Owner, input: CreateTokenInput): Promise<{ token: string; record: TokenRecord }> {
    const name = this.validName(input.name);
    const lifetimeS = this.validLifetime(input.lifetime_s);
    const roles = this.subset("roles", input.roles, owner.roles, "role");
    const scopes = this.subset("scopes", input.scopes ?? [], owner.scopes ?? [], "scope");
    if (roles.length === 0) throw new TokenValidationError("roles", "at least one role is required");
    const token = generateToken();
    const now = this.now();
    return withDatabase(() =>
      this.db.transaction(async (tx) => {
        // Per-owner lock: two concurrent creations cannot both slip under the limit.
        await tx.execute(sql`select pg_advisory_xact_lock(${OWNER_LOCK_NAMESPACE}, hashtext(${owner.subject}))`);
        const [active] = await tx
          .select({ n: count() })
          .from(apiTokens)
          .where(and(eq(apiTokens.ownerSubject, owner.subject), isNull(apiTokens.revokedAt), gt(apiTokens.expiresAt, new Date(now))));
        if ((active?.n ?? 0) >= this.maxActive) {
          throw new TokenConflictError("too_many_tokens", `at most ${this.maxActive} active tokens per user; revoke one first`);
        }
        const [row] = await tx
          .insert(apiTokens)
          .values({
            id: randomUUID(),
            ownerSubject: owner.subject,
            ownerUsername: owner.username,
            name,
            tokenHash: hashToken(token),
            last4: token.slice(-4),
            roles,
            scopes,
            createdAt: new Date(now),
            expiresAt: new Date(now + lifetimeS * 1000),
          })
          .returning();
        return { token, record: this.view(row!) };
      }),
    );
  }

  list(owner: Pick<Owner, "subject">): Promise<TokenRecord[]> {
    return this.select(eq(apiTokens.ownerSubject, owner.subject));
  }

  /** Every user's tokens, or one user's when `owner` names a subject or a username. */
  adminList(filter: { owner?: string } = {}): Promise<TokenRecord[]> {
    const owner = filter.owner;
    return this.select(owner === undefined ? undefined : or(eq(apiTokens.ownerSubject, owner), eq(apiTokens.ownerUsername, owner)));
  }

  /**
   * Sets the expiry to now + lifetime_s; the secret stays the same, so clients need no change.
   * Only a live token can be renewed: a revoked or expired one stays dead (409), since its secret
   * may be why it was revoked or left to lapse.
   */
  async renew(owner: Pick<Owner, "subject">, id: string, input: { lifetime_s?: number } = {}): Promise<TokenRecord> {
    const lifetimeS = this.validLifetime(input.lifetime_s);
    if (!UUID.test(id)) throw new TokenNotFoundError();
    const now = this.now();
    const mine = and(eq(apiTokens.id, id), eq(apiTokens.ownerSubject, owner.subject));
    return withDatabase(async () => {
      const [row] = await this.db
        .update(apiTokens)
        .set({ expiresAt: new Date(now + lifetimeS * 1000) })
        .where(and(mine, isNull(apiTokens.revokedAt), gt(apiTokens.expiresAt, new Date(now))))
        .returning();
      if (row) return this.view(row);
      const [existing] = await this.db.select().from(apiTokens).where(mine);
      if (!existing) throw new TokenNotFoundError();
      throw new TokenConflictError("token_not_renewable", `the token is ${this.status(existing)} and cannot be renewed; create a new one`);
    });
  }

  /** Revokes the caller's own token; another user's token is reported as not found. */
  revoke(owner: Pick<Owner, "subject">, id: string): Promise<TokenRecord> {
    return this.revokeWhere(id, owner.subject, eq(apiTokens.ownerSubject, owner.subject));
  }

  adminRevoke(admin: Pick<Owner, "subject">, id: string): Promise<TokenRecord> {
    return this.revokeWhere(id, admin.subject, undefined);
  }

  /**
   * Revokes the API token whose plaintext is given (RFC 7009: holding the token is the authority
   * to revoke it). Returns undefined when it is not a live token, which RFC 7009 answers with 200.
   */
  async revokeByToken(token: string, revokedBy: string): Promise<TokenRecord | undefined> {
    if (!parseToken(token).ok) return undefined;
    const [row] = await withDatabase(() => this.db.select({ id: apiTokens.id }).from(apiTokens).where(eq(apiTokens.tokenHash, hashToken(token))));
    return row ? this.revokeWhere(row.id, revokedBy, undefined) : undefined;
  }

  /**
   * Records a Keycloak access token's jti in the revocation feed (RFC 7009 at the gateway). Idempotent.
   * Returns false when nothing needed recording: already recorded, or already expired.
   */
  async recordOidcRevocation(jti: string, exp: number): Promise<boolean> {
    if (typeof jti !== "string" || jti.length === 0 || jti.length > 256) throw new TokenValidationError("jti", "must be 1 to 256 characters");
    // Feed keys share one namespace: a jti shaped like an API-token hash could shadow a real token.
    if (/^[0-9a-f]{64}$/.test(jti)) throw new TokenValidationError("jti", "must not look like a SHA-256 hex digest");
    if (!Number.isFinite(exp)) throw new TokenValidationError("exp", "must be a number of seconds since the epoch");
    const nowS = Math.floor(this.now() / 1000);
    if (exp <= nowS) return false;
    const capped = Math.min(Math.floor(exp), nowS + this.oidcMaxLifetimeS);
    return withDatabase(() => this.db.transaction(async (tx) => (await this.appendRevocation(tx, jti, "oidc", capped)) !== undefined));
  }

  /** RFC 7662 answer for the filter. A malformed or mistyped token is inactive without a database lookup. */
  async introspect(token: string): Promise<IntrospectionResponse> {
    if (!parseToken(token).ok) return { active: false };
    const [row] = await withDatabase(() => this.db.select().from(apiTokens).where(eq(apiTokens.tokenHash, hashToken(token))));
    const now = this.now();
    if (!row || this.status(row, now) !== "active") return { active: false };
    this.lastUsed.touch(row.id, now);
    return {
      active: true,
      sub: row.ownerSubject,
      username: row.ownerUsername,
      client_id: API_TOKEN_CLIENT_ID,
      token_type: "api-token",
      exp: toSeconds(row.expiresAt),
      iat: toSeconds(row.createdAt),
      jti: row.id,
      scope: row.scopes.join(" "),
      realm_access: { roles: row.roles },
    };
  }

  private async revokeWhere(id: string, revokedBy: string, scope: SQL | undefined): Promise<TokenRecord> {
    if (!UUID.test(id)) throw new TokenNotFoundError();
    const target = and(eq(apiTokens.id, id), scope);
    const now = new Date(this.now());
    return withDatabase(() =>
      this.db.transaction(async (tx) => {
        const [row] = await tx
          .update(apiTokens)
          .set({ revokedAt: now, revokedBy })
          .where(and(target, isNull(apiTokens.revokedAt)))
          .returning();
        if (!row) {
          const [existing] = await tx.select().from(apiTokens).where(target);
          if (!existing) throw new TokenNotFoundError();
          return this.view(existing);
        }
        await this.appendRevocation(tx, row.tokenHash, "api-token", toSeconds(row.expiresAt));
        return this.view(row);
      }),
    );
  }

  /**
   * Appends to the feed inside the caller's transaction. pg_notify is transactional: replicas hear
   * of the revocation exactly when it commits, and never of one that rolled back.
   */
  private async appendRevocation(tx: Pick<Db, "execute" | "insert">, key: string, kind: "api-token" | "oidc", exp: number): Promise<number | undefined> {
    await tx.execute(sql`select pg_advisory_xact_lock(${LOCK_NAMESPACE}, ${REVOCATION_LOCK_ID})`);
    const [inserted] = await tx
      .insert(revocations)
      .values({ key, kind, exp, revokedAt: new Date(this.now()) })
      .onConflictDoNothing({ target: revocations.key })
      .returning({ seq: revocations.seq });
    if (!inserted) return undefined;
    await tx.execute(sql`select pg_notify(${REVOCATION_CHANNEL}, ${String(inserted.seq)})`);
    return inserted.seq;
  }

  private async select(where: SQL | undefined): Promise<TokenRecord[]> {
    const rows = await withDatabase(() => this.db.select().from(apiTokens).where(where).orderBy(desc(apiTokens.createdAt)).limit(LIST_LIMIT));
    return rows.map((r) => this.view(r));
  }

  private status(row: ApiTokenRow, now = this.now()): TokenRecord["status"] {
    if (row.revokedAt) return "revoked";
    return row.expiresAt.getTime() <= now ? "expired" : "active";
  }

  private view(row: ApiTokenRow): TokenRecord {
    return {
      id: row.id,
      name: row.name,
      owner_subject: row.ownerSubject,
      owner_username: row.ownerUsername,
      display: `${TOKEN_PREFIX}…${row.last4}`,
      roles: row.roles,
      scopes: row.scopes,
      created_at: row.createdAt.toISOString(),
      expires_at: row.expiresAt.toISOString(),
      last_used_at: row.lastUsedAt?.toISOString() ?? null,
      revoked_at: row.revokedAt?.toISOString() ?? null,
      revoked_by: row.revokedBy,
      status: this.status(row),
    };
  }

  private validName(name: unknown): string {
    const trimmed = typeof name === "string" ? name.trim() : "";
    if (trimmed.length === 0 || trimmed.length > NAME_MAX || /\p{Cc}/u.test(trimmed)) {
      throw new TokenValidationError("name", `must be 1 to ${NAME_MAX} printable characters`);
    }
    return trimmed;
  }

  private validLifetime(lifetimeS: number | undefined): number {
    if (lifetimeS === undefined) return this.defaultLifetimeS;
    if (!Number.isInteger(lifetimeS) || lifetimeS < 1 || lifetimeS > this.maxLifetimeS) {
      throw new TokenValidationError("lifetime_s", `must be a whole number of seconds from 1 to ${this.maxLifetimeS}`);
    }
    return lifetimeS;
  }

  private subset(field: string, requested: readonly string[], held: readonly string[], noun: string): string[] {
    const wanted = uniq(requested);
    const missing = wanted.filter((r) => !held.includes(r));
    if (missing.length > 0) {
      throw new TokenValidationError(field, `${missing.map((r) => `${noun} "${r}"`).join(", ")} not held by the token's owner`);
    }
    return wanted;
  }
}

import { sql } from "drizzle-orm";
import { bigint, bigserial, boolean, check, index, pgTable, text, timestamp, uuid } from "drizzle-orm/pg-core";

export const apiTokens = pgTable(
  "api_tokens",
  {
    id: uuid("id").primaryKey(),
    ownerSubject: text("owner_subject").notNull(),
    ownerUsername: text("owner_username").notNull(),
    name: text("name").notNull(),
    // SHA-256 hex of the whole token string: the same key the filter and the revocation feed use.
    tokenHash: text("token_hash").notNull().unique(),
    // The last characters identify a token in lists without disclosing anything usable.
    last4: text("last4").notNull(),
    roles: text("roles").array().notNull(),
    scopes: text("scopes").array().notNull(),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull(),
    expiresAt: timestamp("expires_at", { withTimezone: true }).notNull(),
    lastUsedAt: timestamp("last_used_at", { withTimezone: true }),
    revokedAt: timestamp("revoked_at", { withTimezone: true }),
    revokedBy: text("revoked_by"),
  },
  (t) => [
    index("api_tokens_owner_idx").on(t.ownerSubject, t.createdAt),
    check("api_tokens_hash_is_sha256_hex", sql`${t.tokenHash} ~ '^[0-9a-f]{64}$'`),
  ],
);

export const revocations = pgTable(
  "revocations",
  {
    // The feed cursor. Inserts are serialised (see tokens/service.ts) so that seq order is commit order.
    seq: bigserial("seq", { mode: "number" }).primaryKey(),
    // SHA-256 hex of an API token, or the jti of a Keycloak access token.
    key: text("key").notNull().unique(),
    kind: text("kind").notNull(),
    // Unix seconds; once passed, the token is dead anyway and the entry leaves the feed.
    exp: bigint("exp", { mode: "number" }).notNull(),
    revokedAt: timestamp("revoked_at", { withTimezone: true }).notNull(),
  },
  (t) => [index("revocations_exp_idx").on(t.exp), check("revocations_kind", sql`${t.kind} in ('api-token', 'oidc')`)],
);

// One row naming this database's feed history. A cursor from another database (re-created, restored)
// carries a different epoch, so the feed answers it with everything instead of a wrong delta.
export const feedEpoch = pgTable(
  "feed_epoch",
  {
    singleton: boolean("singleton").primaryKey().default(true),
    epoch: uuid("epoch").notNull().defaultRandom(),
  },
  (t) => [check("feed_epoch_singleton", sql`${t.singleton}`)],
);

export type ApiTokenRow = typeof apiTokens.$inferSelect;

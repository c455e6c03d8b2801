CREATE TABLE "api_tokens" (
	"id" uuid PRIMARY KEY NOT NULL,
	"owner_subject" text NOT NULL,
	"owner_username" text NOT NULL,
	"name" text NOT NULL,
	"token_hash" text NOT NULL,
	"last4" text NOT NULL,
	"roles" text[] NOT NULL,
	"scopes" text[] NOT NULL,
	"created_at" timestamp with time zone NOT NULL,
	"expires_at" timestamp with time zone NOT NULL,
	"last_used_at" timestamp with time zone,
	"revoked_at" timestamp with time zone,
	"revoked_by" text,
	CONSTRAINT "api_tokens_token_hash_unique" UNIQUE("token_hash"),
	CONSTRAINT "api_tokens_hash_is_sha256_hex" CHECK ("api_tokens"."token_hash" ~ '^[0-9a-f]{64}$')
);
--> statement-breakpoint
CREATE TABLE "feed_epoch" (
	"singleton" boolean PRIMARY KEY DEFAULT true NOT NULL,
	"epoch" uuid DEFAULT gen_random_uuid() NOT NULL,
	CONSTRAINT "feed_epoch_singleton" CHECK ("feed_epoch"."singleton")
);
--> statement-breakpoint
CREATE TABLE "revocations" (
	"seq" bigserial PRIMARY KEY NOT NULL,
	"key" text NOT NULL,
	"kind" text NOT NULL,
	"exp" bigint NOT NULL,
	"revoked_at" timestamp with time zone NOT NULL,
	CONSTRAINT "revocations_key_unique" UNIQUE("key"),
	CONSTRAINT "revocations_kind" CHECK ("revocations"."kind" in ('api-token', 'oidc'))
);
--> statement-breakpoint
CREATE INDEX "api_tokens_owner_idx" ON "api_tokens" USING btree ("owner_subject","created_at");--> statement-breakpoint
CREATE INDEX "revocations_exp_idx" ON "revocations" USING btree ("exp");
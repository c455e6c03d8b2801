import { createHash, randomBytes } from "node:crypto";
import { crc32 } from "node:zlib";

/**
 * API token format: `agt_` + 43 base62 characters of randomness (256 bits) + 6 base62 characters of
 * CRC32 over those 43 characters, 53 characters in all, e.g.
 * `agt_3yKcM9fQ0aZr…Xq2b0Lk7p`. The prefix lets secret scanners find leaked tokens; the checksum
 * lets them (and us) tell a real token from a look-alike or a typo without any database lookup.
 * CRC32 catches every single-character error, since one changed character is a burst shorter than
 * 32 bits. The checksum is no secret: it only guards against accidents.
 */
export const TOKEN_PREFIX = "agt_";
export const RANDOM_LENGTH = 43;
export const CHECKSUM_LENGTH = 6;
export const TOKEN_LENGTH = TOKEN_PREFIX.length + RANDOM_LENGTH + CHECKSUM_LENGTH;

const ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const SHAPE = new RegExp(`^${TOKEN_PREFIX}[0-9A-Za-z]{${RANDOM_LENGTH + CHECKSUM_LENGTH}}$`);

function base62(value: number, width: number): string {
  let out = "";
  for (let v = value; out.length < width; v = Math.floor(v / 62)) out = ALPHABET[v % 62] + out;
  return out;
}

function checksum(random: string): string {
  return base62(crc32(random), CHECKSUM_LENGTH);
}

function randomBase62(length: number): string {
  let out = "";
  while (out.length < length) {
    for (const byte of randomBytes(length)) {
      // Rejection sampling keeps every character uniform: 248 is the largest multiple of 62 below 256.
      if (byte < 248 && out.length < length) out += ALPHABET[byte % 62];
    }
  }
  return out;
}

export function generateToken(): string {
  const random = randomBase62(RANDOM_LENGTH);
  return `${TOKEN_PREFIX}${random}${checksum(random)}`;
}

export type ParsedToken = { ok: true; token: string } | { ok: false; reason: "prefix" | "shape" | "checksum" };

/** Checks prefix, length, alphabet and checksum; never touches the database. */
export function parseToken(candidate: string): ParsedToken {
  if (!candidate.startsWith(TOKEN_PREFIX)) return { ok: false, reason: "prefix" };
  if (candidate.length !== TOKEN_LENGTH || !SHAPE.test(candidate)) return { ok: false, reason: "shape" };
  const random = candidate.slice(TOKEN_PREFIX.length, TOKEN_PREFIX.length + RANDOM_LENGTH);
  if (candidate.slice(-CHECKSUM_LENGTH) !== checksum(random)) return { ok: false, reason: "checksum" };
  return { ok: true, token: candidate };
}

/** Lowercase hex SHA-256 of the whole token string: the stored form and the revocation-feed key. */
export function hashToken(token: string): string {
  return createHash("sha256").update(token, "utf8").digest("hex");
}

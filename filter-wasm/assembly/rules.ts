// Route authorization rules: the first rule whose path and method match the request decides.
//
// Paths are matched on a canonical form, and a request path that could mean different things to
// the filter and to the upstream is refused (BadPath → 400) rather than normalised. Envoy, Node's
// WHATWG URL parser and Hono each resolve or decode some of these forms; forwarding the path
// unchanged is only safe when they cannot. Refused:
//   - a path not starting with "/" (asterisk or absolute form);
//   - a "." or ".." segment, the target of "/v1/models/../tokens";
//   - an empty segment ("//"), which some servers merge; a single trailing "/" is allowed;
//   - a percent-encoded "/", "\", ".", "%", ";", "?", "#" or control character (no client needs
//     one, and WHATWG URL treats "%2e" as a dot and some stacks decode twice);
//   - a malformed percent-escape;
//   - any literal character outside RFC 3986 pchar, notably "\" (WHATWG URL reads it as "/"),
//     space, control and non-ASCII characters;
//   - ";" anywhere, since some frameworks drop ";params" from a segment before routing.
// Other percent-escapes (e.g. "%74" for "t") are decoded before matching, as the upstream decodes
// them before routing: otherwise "/v1/%74okens" would escape the rule for "/v1/tokens".
// Query and fragment are ignored. Matching is case-sensitive, as Hono's router is.

/** Filled by the configuration parser. Exactly one of `prefix` and `exact` is non-empty. */
export class Rule {
  /** Segment-boundary prefix: "/v1/models" matches "/v1/models" and "/v1/models/x", not "/v1/modelsx". */
  prefix: string = "";
  /** Whole path; a single trailing "/" on either side is ignored. */
  exact: string = "";
  /** Empty: every method. Compared case-insensitively; "GET" also covers HEAD (Hono serves HEAD with GET handlers). */
  methods: string[] = [];
  isPublic: bool = false;
  /** At least one of these roles, when non-empty. */
  anyRole: string[] = [];
  /** Every one of these roles. */
  allRoles: string[] = [];
  /** Every one of these scopes. */
  scopes: string[] = [];
}

export enum DecisionKind {
  /** The matched rule is public: no token needed. */
  Public,
  /** Only from `matchRoute`: a rule that needs a caller matched; `authorize` decides. */
  Protected,
  Allowed,
  /** 403; `reason` names what is missing. */
  Denied,
  /** The configured default action applies. */
  NoRuleMatched,
  /** 400; `reason` says what is wrong with the path. */
  BadPath,
}

export class Decision {
  constructor(
    readonly kind: DecisionKind,
    /** Index of the matched rule, or -1. */
    readonly ruleIndex: i32,
    readonly reason: string,
  ) {}
}

/**
 * Step one, before authentication (public routes need no token): which rule governs this request.
 * Yields Public, Protected, NoRuleMatched or BadPath.
 */
export function matchRoute(rules: Rule[], method: string, rawPath: string): Decision {
  const path = canonicalPath(rawPath);
  if (path.error != "") return new Decision(DecisionKind.BadPath, -1, path.error);
  for (let i = 0; i < rules.length; i++) {
    const rule = unchecked(rules[i]);
    if (!methodMatches(rule.methods, method) || !pathMatches(rule, path.path)) continue;
    return new Decision(rule.isPublic ? DecisionKind.Public : DecisionKind.Protected, i, "");
  }
  return new Decision(DecisionKind.NoRuleMatched, -1, "");
}

/**
 * Step two, after authentication: the final decision for a `matchRoute` result (anything but
 * Protected passes through). A protected rule with no role or scope lists admits any caller.
 */
export function authorize(rules: Rule[], route: Decision, roles: string[], scopes: string[]): Decision {
  if (route.kind != DecisionKind.Protected) return route;
  if (route.ruleIndex < 0 || route.ruleIndex >= rules.length) {
    return new Decision(DecisionKind.Denied, route.ruleIndex, "no such rule");
  }
  const rule = unchecked(rules[route.ruleIndex]);
  const anyRole = rule.anyRole;
  if (anyRole.length > 0) {
    let found = false;
    for (let i = 0; i < anyRole.length && !found; i++) found = roles.includes(unchecked(anyRole[i]));
    if (!found) return new Decision(DecisionKind.Denied, route.ruleIndex, "missing role: one of " + anyRole.join(", "));
  }
  const missingRole = firstMissing(rule.allRoles, roles);
  if (missingRole != null) return new Decision(DecisionKind.Denied, route.ruleIndex, "missing role: " + missingRole);
  const missingScope = firstMissing(rule.scopes, scopes);
  if (missingScope != null) return new Decision(DecisionKind.Denied, route.ruleIndex, "missing scope: " + missingScope);
  return new Decision(DecisionKind.Allowed, route.ruleIndex, "");
}

function firstMissing(required: string[], held: string[]): string | null {
  for (let i = 0; i < required.length; i++) {
    const r = unchecked(required[i]);
    if (!held.includes(r)) return r;
  }
  return null;
}

export class CanonicalPath {
  constructor(
    /** The path without query or fragment, percent-escapes decoded (one char per decoded byte). */
    readonly path: string,
    /** "" when the path is acceptable. */
    readonly error: string,
  ) {}
}

const SLASH: i32 = 0x2f;
const DOT: i32 = 0x2e;
const PERCENT: i32 = 0x25;

export function canonicalPath(raw: string): CanonicalPath {
  let end = 0;
  while (end < raw.length) {
    const c = raw.charCodeAt(end);
    if (c == 0x3f /* ? */ || c == 0x23 /* # */) break;
    end++;
  }
  if (end == 0 || raw.charCodeAt(0) != SLASH) return new CanonicalPath("", "path must start with /");

  let escapes = 0;
  let segStart = 1;
  for (let i = 1; i <= end; i++) {
    const c = i < end ? raw.charCodeAt(i) : SLASH;
    if (c == SLASH) {
      const segLen = i - segStart;
      if (segLen == 0 && i < end) return new CanonicalPath("", "empty path segment");
      if (isDotSegment(raw, segStart, segLen)) return new CanonicalPath("", "dot-segment in path");
      segStart = i + 1;
    } else if (c == PERCENT) {
      const hi = hexValue(raw.charCodeAt(i + 1));
      const lo = hexValue(raw.charCodeAt(i + 2));
      if (i + 2 >= end || hi < 0 || lo < 0) return new CanonicalPath("", "malformed percent-encoding in path");
      if (!isDecodable((hi << 4) | lo)) return new CanonicalPath("", "forbidden percent-encoded character in path");
      escapes++;
      i += 2;
    } else if (!isPchar(c)) {
      return new CanonicalPath("", "forbidden character in path");
    }
  }
  return new CanonicalPath(escapes > 0 ? decodeEscapes(raw, end, escapes) : raw.substring(0, end), "");
}

function isDotSegment(s: string, start: i32, len: i32): bool {
  if (len == 1) return s.charCodeAt(start) == DOT;
  return len == 2 && s.charCodeAt(start) == DOT && s.charCodeAt(start + 1) == DOT;
}

// Only called once canonicalPath has validated raw[0, end) and counted its `escapes`, each of which
// is a complete "%XX": the output is exactly end - 2 * escapes characters long.
function decodeEscapes(raw: string, end: i32, escapes: i32): string {
  const outLen = end - 2 * escapes;
  const out = changetype<string>(__new(<usize>outLen << 1, idof<string>()));
  const dst = changetype<usize>(out);
  let j = 0;
  for (let i = 0; i < end && j < outLen; i++, j++) {
    let c = raw.charCodeAt(i);
    if (c == PERCENT) {
      c = (hexValue(raw.charCodeAt(i + 1)) << 4) | hexValue(raw.charCodeAt(i + 2));
      i += 2;
    }
    store<u16>(dst + (<usize>j << 1), <u16>c);
  }
  return out;
}

function isDecodable(b: i32): bool {
  if (b < 0x20 || b == 0x7f) return false;
  return !(b == SLASH || b == 0x5c /* \ */ || b == DOT || b == PERCENT || b == 0x3b /* ; */ || b == 0x3f || b == 0x23);
}

// RFC 3986 pchar without "%" (handled by the caller) and without ";".
function isPchar(c: i32): bool {
  if ((c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x39)) return true;
  switch (c) {
    case 0x2d: case 0x2e: case 0x5f: case 0x7e: // - . _ ~
    case 0x21: case 0x24: case 0x26: case 0x27: case 0x28: case 0x29: // ! $ & ' ( )
    case 0x2a: case 0x2b: case 0x2c: case 0x3d: // * + , =
    case 0x3a: case 0x40: // : @
      return true;
  }
  return false;
}

function hexValue(c: i32): i32 {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  const l = c | 0x20;
  if (l >= 0x61 && l <= 0x66) return l - 0x61 + 10;
  return -1;
}

function methodMatches(methods: string[], method: string): bool {
  if (methods.length == 0) return true;
  for (let i = 0; i < methods.length; i++) {
    const m = unchecked(methods[i]);
    if (equalsIgnoreCase(m, method)) return true;
    if (equalsIgnoreCase(m, "GET") && equalsIgnoreCase(method, "HEAD")) return true;
  }
  return false;
}

function equalsIgnoreCase(a: string, b: string): bool {
  const len = a.length;
  if (len != b.length) return false;
  for (let i = 0; i < len; i++) {
    if (toLowerAscii(a.charCodeAt(i)) != toLowerAscii(b.charCodeAt(i))) return false;
  }
  return true;
}

function toLowerAscii(c: i32): i32 {
  return c >= 0x41 && c <= 0x5a ? c | 0x20 : c;
}

function pathMatches(rule: Rule, path: string): bool {
  if (rule.exact.length > 0) return equalsIgnoringTrailingSlash(rule.exact, path);
  const prefix = rule.prefix;
  const plen = prefix.length;
  // A rule with neither prefix nor exact matches nothing, so a half-filled rule cannot open every path.
  if (plen == 0 || !path.startsWith(prefix)) return false;
  return path.length == plen || prefix.charCodeAt(plen - 1) == SLASH || path.charCodeAt(plen) == SLASH;
}

function equalsIgnoringTrailingSlash(a: string, b: string): bool {
  const len = trimmedLength(a);
  if (len != trimmedLength(b)) return false;
  for (let i = 0; i < len; i++) if (a.charCodeAt(i) != b.charCodeAt(i)) return false;
  return true;
}

function trimmedLength(s: string): i32 {
  const len = s.length;
  return len > 1 && s.charCodeAt(len - 1) == SLASH ? len - 1 : len;
}

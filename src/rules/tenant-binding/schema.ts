import * as v from "valibot";
import { parseDuration } from "../../core/duration.js";
import {
  DATA_CLASSES,
  DURATION,
  ENV_NAME,
  FAIL_MODE,
  HEADER_NAME,
  MATCH,
  METHOD,
  ORIGIN,
  RULE_ID,
  RULE_MODE,
  TIMEOUT_MS,
} from "../common.js";
import { TENANT_SOURCE } from "../tenancy.js";

/*
 * The schema of the `tenant-binding` rule kind. Cross-field constraints that need the match pattern
 * (the tenant parameter must be captured by every pattern) are checked in the compile step, which
 * names the same JSON paths.
 */

export const ASYMMETRIC_ALGORITHMS = [
  "RS256",
  "RS384",
  "RS512",
  "PS256",
  "PS384",
  "PS512",
  "ES256",
  "ES384",
  "ES512",
  "EdDSA",
] as const;
export const SECRET_ALGORITHMS = ["HS256", "HS384", "HS512"] as const;
const ALGORITHM = v.picklist(
  [...ASYMMETRIC_ALGORITHMS, ...SECRET_ALGORITHMS],
  `must be one of ${[...ASYMMETRIC_ALGORITHMS, ...SECRET_ALGORITHMS].join(", ")}`,
);

/** Hosts a JWKS may be fetched from over plain http: only the machine itself (local development, tests). */
const LOOPBACK = /^(localhost|127(\.\d{1,3}){3}|\[::1\])$/;

const JWKS_URL = v.pipe(
  v.string(),
  v.url("must be an absolute URL"),
  v.check((text) => {
    const url = new URL(text);
    if (url.username !== "" || url.password !== "" || url.hash !== "") return false;
    return url.protocol === "https:" || (url.protocol === "http:" && LOOPBACK.test(url.hostname));
  }, "must be an https URL without credentials or fragment (http only for localhost)"),
);

const CLAIM_PATH = v.union(
  [
    v.pipe(
      v.string(),
      v.regex(/^[\w-]{1,64}(\.[\w-]{1,64}){0,7}$/, "must be a claim name, nested with dots like org.id"),
    ),
    v.pipe(v.array(v.pipe(v.string(), v.minLength(1), v.maxLength(256))), v.minLength(1), v.maxLength(8)),
  ],
  'must be a claim name like "org_id", a dotted path like "org.id", or a list of keys like ["https://example.com/claims", "org"]',
);

const MIN_COOLDOWN_MS = 1_000;

const TOKEN = v.pipe(
  v.strictObject({
    /** Where the token is: `Authorization: Bearer` (default), a cookie, or either (then both must agree). */
    from: v.optional(
      v.picklist(
        ["authorization", "cookie", "authorization-or-cookie"],
        'must be "authorization", "cookie" or "authorization-or-cookie"',
      ),
    ),
    cookie: v.optional(
      v.pipe(v.string(), v.regex(/^[\w.-]{1,64}$/, "must be a cookie name (letters, digits, _ . -)")),
    ),
    claim: CLAIM_PATH,
    jwks: v.optional(JWKS_URL),
    /** Name of the environment variable holding the HS* secret: secrets never live in Edge Config. */
    secretEnv: v.optional(ENV_NAME),
    issuer: v.optional(v.pipe(v.string(), v.minLength(1))),
    audience: v.optional(
      v.union(
        [v.pipe(v.string(), v.minLength(1)), v.pipe(v.array(v.string()), v.minLength(1))],
        "must be a string or a list of strings",
      ),
    ),
    algorithms: v.pipe(v.array(ALGORITHM), v.minLength(1, "must pin at least one algorithm")),
    maxTokenAge: v.optional(DURATION),
    typ: v.optional(v.pipe(v.string(), v.minLength(1))),
    clockTolerance: v.optional(
      v.pipe(
        DURATION,
        v.check((text) => (parseDuration(text) ?? 0) <= 300_000, "must be at most 5m"),
      ),
    ),
    maxBytes: v.optional(
      v.pipe(v.number(), v.integer("must be a whole number"), v.minValue(256), v.maxValue(65_536)),
    ),
    /** How long fetched keys are trusted (default 10m). */
    jwksMaxAge: v.optional(DURATION),
    /** Least time between two refetches caused by an unknown `kid` (default 30s, at least 1s). */
    jwksCooldown: v.optional(
      v.pipe(
        DURATION,
        v.check((text) => (parseDuration(text) ?? 0) >= MIN_COOLDOWN_MS, "must be at least 1s"),
      ),
    ),
  }),
  v.forward(
    v.check(
      (token) => (token.jwks === undefined) !== (token.secretEnv === undefined),
      "must name exactly one key source: jwks (a URL) or secretEnv",
    ),
    ["jwks"],
  ),
  // One key source, one algorithm family: an RSA public key can then never be used as an HMAC secret.
  v.forward(
    v.check(
      (token) =>
        token.algorithms.every(
          (alg) => (token.jwks === undefined) === (SECRET_ALGORITHMS as readonly string[]).includes(alg),
        ),
      "must list only asymmetric algorithms (RS*, PS*, ES*, EdDSA) with jwks, only HS256/HS384/HS512 with secretEnv",
    ),
    ["algorithms"],
  ),
  v.forward(
    v.check(
      (token) => token.from === undefined || token.from === "authorization" || token.cookie !== undefined,
      'must name the cookie when "from" reads one',
    ),
    ["cookie"],
  ),
);

export const TENANT_BINDING_RULE = v.strictObject({
  id: RULE_ID,
  kind: v.literal("tenant-binding"),
  match: MATCH,
  mode: v.optional(RULE_MODE),
  dataClasses: v.optional(DATA_CLASSES),
  tenant: TENANT_SOURCE,
  token: TOKEN,
  /**
   * When Origin is required: on unsafe methods (default; safe methods without Origin pass when
   * `Sec-Fetch-Site` is absent or listed in `withoutOrigin`), always, or never checked (`off`).
   */
  origin: v.optional(
    v.picklist(
      ["required", "required-for-unsafe-methods", "off"],
      'must be "required", "required-for-unsafe-methods" or "off"',
    ),
  ),
  /** Origins allowed for every tenant besides `tenants[tenant].origins`; `{tenant}` is the verified tenant. */
  origins: v.optional(v.pipe(v.array(ORIGIN), v.maxLength(32))),
  /**
   * `Sec-Fetch-Site` values with which a GET or HEAD may come without Origin. Default
   * `["same-origin", "none"]`: `same-site` is left out because, with a subdomain per tenant, another
   * tenant's pages are same-site. A request without the header (non-browser client) and a
   * top-level navigation (`Sec-Fetch-Mode: navigate`, `Sec-Fetch-Dest: document`) always pass.
   */
  withoutOrigin: v.optional(
    v.array(
      v.picklist(
        ["same-origin", "same-site", "none", "cross-site"],
        'must be "same-origin", "same-site", "none" or "cross-site"',
      ),
    ),
  ),
  /** How preflights from allowed origins are answered. */
  cors: v.optional(
    v.strictObject({
      methods: v.optional(v.pipe(v.array(METHOD), v.minLength(1))),
      /** Request headers a preflight may ask for (default authorization, content-type); others are not granted. */
      headers: v.optional(v.pipe(v.array(HEADER_NAME), v.maxLength(64))),
      /** Default: true when the token may come from a cookie. */
      credentials: v.optional(v.boolean()),
      /** Seconds a browser may cache the preflight (default 600). */
      maxAge: v.optional(v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(86_400))),
    }),
  ),
  failMode: v.optional(FAIL_MODE),
  timeoutMs: v.optional(TIMEOUT_MS),
});
export type TenantBindingRuleSpec = v.InferOutput<typeof TENANT_BINDING_RULE>;
export type TokenSpec = TenantBindingRuleSpec["token"];

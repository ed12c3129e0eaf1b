import * as v from "valibot";
import {
  CIDR,
  DATA_CLASSES,
  DURATION,
  ENV_NAME,
  FAIL_MODE,
  MATCH,
  PATH_PATTERN,
  RULE_ID,
  RULE_MODE,
} from "../common.js";

/**
 * `detector`: watches matching traffic for a leak in progress and trips above a threshold
 * (docs/detection.md). One kind with a `detect` field rather than one kind per detector: the match,
 * key, window, threshold, action, budget and fail mode read the same for all of them.
 *
 * - `enumeration`: distinct values of a route parameter per key per window (a HyperLogLog);
 * - `honeytoken`: a request for a decoy value (stored as a keyed hash) by a verified subject;
 * - `probing`: tenant-binding refusals per key per window;
 * - `surge`: requests per key per window above a multiple of the key's own trailing rate and an
 *   absolute floor (`threshold`).
 *
 * Keys: `user` and `tenant` are what tenant binding verified; `ip` and `addressed-tenant` come from
 * the request and may only alert (an attacker chooses them: compile refuses a quarantine on them).
 */
const KEY_PART = v.picklist(
  ["user", "tenant", "ip", "addressed-tenant"],
  'must be "user", "tenant" (both verified by tenant binding), "ip" or "addressed-tenant"',
);

const PARAM = v.pipe(
  v.string(),
  v.regex(/^[A-Za-z_][A-Za-z0-9_]{0,63}$/, "must be the name of a :parameter of match.path"),
);

const DECOY = v.pipe(
  v.string(),
  v.regex(
    /^hmac-sha256:[0-9a-f]{32}$/,
    "must be a keyed hash like hmac-sha256:<32 hex digits>, made by `containment detections decoy-hash` (never the raw value)",
  ),
);

const QUARANTINE = v.strictObject({
  /** The routes the quarantined key is refused on (bounded scope: never the whole site by default). */
  path: v.union(
    [PATH_PATTERN, v.pipe(v.array(PATH_PATTERN), v.minLength(1), v.maxLength(8))],
    "must be a path pattern or a list of at most 8",
  ),
  /** How long (bounded: at most 24h); it expires by itself and never lifts anything. */
  for: DURATION,
  /** A key of the tenant alone contains a whole tenant: only with a person's approval. */
  wholeTenant: v.optional(v.literal("with-approval", 'must be "with-approval"')),
});

export const DETECTOR_RULE = v.strictObject({
  id: RULE_ID,
  kind: v.literal("detector"),
  detect: v.picklist(
    ["enumeration", "honeytoken", "probing", "surge"],
    'must be "enumeration", "honeytoken", "probing" or "surge"',
  ),
  match: MATCH,
  mode: v.optional(RULE_MODE),
  dataClasses: v.optional(DATA_CLASSES),
  by: v.pipe(v.array(KEY_PART), v.minLength(1, "must name at least one key part"), v.maxLength(3)),
  /** Enumeration and honeytoken: the route parameter whose values are counted or compared. */
  param: v.optional(PARAM),
  window: v.optional(DURATION),
  /** Trips when the window's count goes above this (honeytoken: default 0, the first hit). */
  threshold: v.optional(
    v.pipe(v.number(), v.integer("must be a whole number"), v.minValue(0), v.maxValue(1_000_000)),
  ),
  /** Surge: trips above this multiple of the key's own trailing rate (and above `threshold`). */
  multiplier: v.optional(v.pipe(v.number(), v.minValue(1.5), v.maxValue(1000))),
  /** Surge: how far back the trailing rate reaches (default 24h). */
  baseline: v.optional(DURATION),
  decoys: v.optional(v.pipe(v.array(DECOY), v.minLength(1), v.maxLength(1000))),
  /** The secret decoys are keyed with (default CONTAINMENT_DECOY_KEY). */
  decoyKeyEnv: v.optional(ENV_NAME),
  /** The customer's own scanners and service accounts: never counted. */
  allow: v.optional(
    v.strictObject({
      subjects: v.optional(
        v.pipe(v.array(v.pipe(v.string(), v.minLength(1), v.maxLength(256))), v.maxLength(256)),
      ),
      cidrs: v.optional(v.pipe(v.array(CIDR), v.maxLength(64))),
    }),
  ),
  /** `alert` (default) or a bounded quarantine of the key. */
  action: v.optional(
    v.union(
      [v.literal("alert"), v.strictObject({ quarantine: QUARANTINE })],
      'must be "alert" or { "quarantine": { "path": …, "for": … } }',
    ),
  ),
  /** Automatic actions per key class per window (default 10 per hour); beyond it, a critical alert. */
  budget: v.optional(
    v.strictObject({
      max: v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(10_000)),
      per: DURATION,
    }),
  ),
  /** After this detector's spec changes: more than `maxKeys` trips within `for` pause its actions. */
  settle: v.optional(
    v.strictObject({
      for: DURATION,
      maxKeys: v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(10_000)),
    }),
  ),
  /** When the detector's store is unavailable: `open` (default) lets requests through, `closed` refuses them on its quarantine scope. */
  failMode: v.optional(FAIL_MODE),
});
export type DetectorRuleSpec = v.InferOutput<typeof DETECTOR_RULE>;

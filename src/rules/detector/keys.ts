/**
 * Every Redis key detectors write, relative to the prefix, once (docs/recorded-format.md,
 * "Detections"): the detector's flush script builds them from this layout, the responder's side reads
 * them, and the edge's ACL is derived from it (src/ops/redis-acl.ts). Automatic quarantines are not
 * here: they are the rate-limit layout's `quarantine:*` keys, so enforcement and release are shared.
 *
 * `<key>` is always a keyed pseudonym of the identity (dimension and pseudonyms, as rate limits key
 * them), never a raw value.
 */
export const DETECT_KEYS = {
  /** HyperLogLog (enumeration) or counter (honeytoken, probing) of one key in one window. */
  counter: (detector: string, key: string, window: string) => `detect:${detector}:${key}:${window}`,
  /** Surge: the key's trailing request count and since when (`n`, `since`), decayed by halves. */
  baseline: (detector: string, key: string) => `detect:baseline:${detector}:${key}`,
  /** When a detector spec (by its digest) was first seen anywhere: the start of its settling time. */
  epoch: (detector: string, specDigest: string) => `detect:epoch:${detector}:${specDigest}`,
  /** Distinct keys a detector tripped on since that spec was first seen: a spike pauses actions. */
  spike: (detector: string, specDigest: string) => `detect:spike:${detector}:${specDigest}`,
  /** Automatic actions taken by one detector for one key class in one budget window. */
  budget: (detector: string, keyClass: string, window: string) =>
    `detect:budget:${detector}:${keyClass}:${window}`,
  /** One entry per trip (detector, route, key pseudonym, tenant, value, window, action, isolate). */
  stream: "detections",
  /** One hash per detection, created once across isolates (the guard of its one alert); its state. */
  detection: (id: string) => `detection:${id}`,
} as const;

/** How many entries the `detections` stream keeps (XADD MAXLEN ~). */
export const DETECTIONS_KEPT = 10_000;

/**
 * A detection's id: the detector, the window it tripped in and a short digest of the key pseudonym,
 * so every isolate that sees the same crossing names the same detection (one alert) and the id
 * carries nothing raw. `digest` is computed by the caller (hex).
 */
export function detectionId(detector: string, window: number, keyDigest: string): string {
  return `${detector}.${window.toString(36)}.${keyDigest.slice(0, 12)}`;
}

/** A detection id as the responder types it (`containment detections release <id>`). */
export const DETECTION_ID = /^[A-Za-z0-9][\w-]{0,63}\.[0-9a-z]{1,12}\.[0-9a-f]{12}$/;

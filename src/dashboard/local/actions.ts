/**
 * What the local dashboard can do, as an interface over the responder actions the CLI runs
 * (src/ops/actions/*): the same validation, confirmation, audit entries and notifications, because
 * it is the same code. This file only checks the shape of what the page sends (clear 400s with the
 * field's JSON path) and maps the actions' errors to HTTP statuses.
 */
import * as v from "valibot";

const TEXT = (max: number) =>
  v.pipe(v.string(), v.trim(), v.minLength(1, "must not be empty"), v.maxLength(max));
const INCIDENT = v.pipe(v.string(), v.regex(/^[\w.:-]{1,64}$/, "must be 1-64 letters, digits, _ . : or -"));
const DURATION = v.pipe(v.string(), v.regex(/^\d+(s|m|h|d)$/, "must be a duration like 30m, 2h or 1d"));
const SWITCH_ID = v.pipe(v.string(), v.regex(/^[\w-]{1,64}$/, "must be 1-64 letters, digits, _ or -"));

export const KILL_REQUEST = v.strictObject({
  path: TEXT(500),
  reason: TEXT(500),
  incident: INCIDENT,
  tenants: v.optional(v.pipe(v.array(TEXT(100)), v.maxLength(100))),
  methods: v.optional(
    v.pipe(
      v.array(v.pipe(v.string(), v.regex(/^[A-Z]{1,16}$/, "must be an HTTP method like GET"))),
      v.maxLength(16),
    ),
  ),
  hosts: v.optional(v.pipe(v.array(TEXT(253)), v.maxLength(32))),
  for: v.optional(DURATION),
  status: v.optional(v.pipe(v.number(), v.integer(), v.minValue(400), v.maxValue(599))),
  message: v.optional(TEXT(200)),
  id: v.optional(SWITCH_ID),
  monitor: v.optional(v.boolean()),
  confirmAll: v.optional(v.boolean()),
  /** Plan only (validation, size check, what it would have blocked): nothing is written. */
  dryRun: v.optional(v.boolean()),
});
export const LIFT_REQUEST = v.strictObject({
  id: SWITCH_ID,
  reason: TEXT(500),
  incident: v.optional(INCIDENT),
});
export const EXTEND_REQUEST = v.strictObject({ id: SWITCH_ID, for: DURATION, reason: TEXT(500) });
export const RELEASE_REQUEST = v.strictObject({
  dimension: v.pipe(
    v.string(),
    v.regex(/^[a-z+]{1,32}$/, "must be a quarantine dimension like ip or tenant+user"),
  ),
  id: v.pipe(v.string(), v.regex(/^[\w.:-]{1,300}$/, "must be a quarantined identity as listed")),
  reason: TEXT(500),
  incident: v.optional(INCIDENT),
});

export type KillRequest = v.InferOutput<typeof KILL_REQUEST>;
export type LiftRequest = v.InferOutput<typeof LIFT_REQUEST>;
export type ExtendRequest = v.InferOutput<typeof EXTEND_REQUEST>;
export type ReleaseRequest = v.InferOutput<typeof RELEASE_REQUEST>;

export interface ActionOutcome {
  /** One sentence for the responder, e.g. "Kill switch export-freeze created (v1); audited as #12." */
  summary: string;
  /** Machine-readable details (item before/after, audit seq/hash, …). */
  detail?: Record<string, unknown>;
}

/** Implemented over src/ops/actions (ops-actions.ts); tests may pass a recording double. */
export interface ResponderActions {
  kill(input: KillRequest): Promise<ActionOutcome>;
  lift(input: LiftRequest): Promise<ActionOutcome>;
  extend(input: ExtendRequest): Promise<ActionOutcome>;
  releaseQuarantine(input: ReleaseRequest): Promise<ActionOutcome>;
}

/** An action refused for a reason the responder can fix; `status` is the HTTP answer. */
export class ActionRefused extends Error {
  constructor(
    readonly status: 400 | 404 | 409 | 422 | 429 | 502 | 503,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = "ActionRefused";
  }
}

type Schema = typeof KILL_REQUEST | typeof LIFT_REQUEST | typeof EXTEND_REQUEST | typeof RELEASE_REQUEST;

export const ROUTES: Record<
  string,
  { schema: Schema; run: (a: ResponderActions, input: never) => Promise<ActionOutcome> }
> = {
  kill: { schema: KILL_REQUEST, run: (a, input: KillRequest) => a.kill(input) },
  lift: { schema: LIFT_REQUEST, run: (a, input: LiftRequest) => a.lift(input) },
  extend: { schema: EXTEND_REQUEST, run: (a, input: ExtendRequest) => a.extend(input) },
  "quarantine-release": {
    schema: RELEASE_REQUEST,
    run: (a, input: ReleaseRequest) => a.releaseQuarantine(input),
  },
};

/** `$.tenants[2]: must not be empty`, or undefined when the input is valid. */
export function checkInput(
  schema: Schema,
  input: unknown,
): { ok: true; value: unknown } | { ok: false; message: string } {
  if (input === null || typeof input !== "object" || Array.isArray(input))
    return { ok: false, message: "$: must be a JSON object" };
  const result = v.safeParse(schema, input);
  if (result.success) return { ok: true, value: result.output };
  const issue = result.issues[0];
  const path = (issue.path ?? [])
    .map((p) => (typeof p.key === "number" ? `[${p.key}]` : `.${String(p.key)}`))
    .join("");
  const message =
    issue.type === "strict_object" && issue.expected === "never"
      ? "is not a field this action takes"
      : issue.message;
  return { ok: false, message: `$${path}: ${message}` };
}

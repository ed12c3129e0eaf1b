/**
 * The rule kinds, once, in evaluation order: break-glass is checked before any rule, then kill
 * switches, tenant binding (before rate limits, so unauthenticated traffic spends no quota and
 * `user` keys come from a verified token), rate limits (each checks quarantine in the same Redis
 * round trip as its counter), detectors (after binding: they key on what it verified; they
 * observe its refusals), headers. The document schema, the kind names, compile dispatch and
 * the phase order all come from this list: adding a kind is its own file plus one line here
 * (docs/architecture.md, "Adding a rule kind").
 */
import type * as v from "valibot";
import type { RuleKind } from "../model/decision.js";
import { DETECTOR } from "./detector/rule.js";
import { HEADERS } from "./headers.js";
import { KILL_SWITCH } from "./kill-switch.js";
import { RATE_LIMIT } from "./rate-limit/rule.js";
import { TENANT_BINDING } from "./tenant-binding/rule.js";

export const RULE_KINDS = [KILL_SWITCH, TENANT_BINDING, RATE_LIMIT, DETECTOR, HEADERS] as const;

type Registered = (typeof RULE_KINDS)[number];

/** A rule kind's name, e.g. `kill-switch`. */
export type RuleKindName = Registered["kind"];

// The public Decision type names the kinds (model/decision.ts): both lists must be the same.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
type MustHold<T extends true> = T;
export type NamesAgree = MustHold<Same<RuleKindName, RuleKind>>;

/** The spec schemas of every kind, as a tuple (what the document's `v.variant` takes). */
export type RuleSpecSchemas = {
  -readonly [I in keyof typeof RULE_KINDS]: (typeof RULE_KINDS)[I] extends { schema: infer S } ? S : never;
};

/** Any rule spec of the document. */
export type RuleSpec = v.InferOutput<Registered["schema"]>;

/** Position of each kind in evaluation order. */
export const PHASE_INDEX: ReadonlyMap<string, number> = new Map(RULE_KINDS.map((k, i) => [k.kind, i]));

/**
 * What a rule kind is: its name, the schema of its spec in the rules document, and how a validated
 * spec compiles. The registry (kinds.ts) lists every kind once; the document schema, the kind
 * names, compile dispatch and the evaluation order all come from it (docs/architecture.md, "Adding
 * a rule kind").
 */
import type * as v from "valibot";
import type { CompileContext, CompiledRule } from "./rule.js";

/** A compiled rule before the ruleset places it (document order, source). */
export type PlacedLater = Omit<CompiledRule, "order" | "source">;

/** A spec schema: a strict object whose `kind` is the kind's literal name (what `v.variant` takes). */
export type SpecSchema<K extends string> = v.StrictObjectSchema<
  { kind: v.LiteralSchema<K, v.ErrorMessage<v.LiteralIssue> | undefined> } & v.ObjectEntries,
  v.ErrorMessage<v.StrictObjectIssue> | undefined
>;

export interface RuleKindDefinition<K extends string, S extends SpecSchema<K>> {
  readonly kind: K;
  readonly schema: S;
  compile(spec: v.InferOutput<S>, context: CompileContext): PlacedLater;
}

/** Checks a definition's parts against each other at compile time; returns it unchanged. */
export function defineRuleKind<K extends string, S extends SpecSchema<K>>(
  definition: RuleKindDefinition<K, S>,
): RuleKindDefinition<K, S> {
  return definition;
}

/**
 * The local dashboard's actions ARE the CLI's: planKill/applyKill, planLift/applyLift,
 * planExtend/applyExtend and releaseQuarantine from src/ops/actions, on the same OpsContext the
 * CLI builds (src/cli/ops.ts: audit chain + journal, signer, webhooks, fast lane). So the same
 * validation, size check, 15-minute preview, every-route confirmation, audit entries and
 * notifications apply. This file only maps the page's requests onto them.
 */
import { parseDuration } from "../../core/duration.js";
import { applyExtend, planExtend } from "../../ops/actions/extend.js";
import { applyKill, type KillInput, planKill, refusal } from "../../ops/actions/kill.js";
import { applyLift, planLift } from "../../ops/actions/lift.js";
import { describePreview } from "../../ops/actions/preview.js";
import { releaseQuarantine } from "../../ops/actions/quarantine.js";
import type { OpsContext } from "../../ops/context.js";
import { type ActionOutcome, ActionRefused, type KillRequest, type ResponderActions } from "./actions.js";

function forMs(text: string): number {
  const ms = parseDuration(text);
  if (ms === undefined)
    throw new ActionRefused(400, "invalid_input", "$.for: must be a duration like 30m, 2h or 1d");
  return ms;
}

function killInput(input: KillRequest): KillInput {
  return {
    pattern: input.path,
    reason: input.reason,
    incident: input.incident,
    ...(input.tenants ? { tenants: input.tenants } : {}),
    ...(input.methods ? { methods: input.methods } : {}),
    ...(input.hosts ? { hosts: input.hosts } : {}),
    ...(input.for !== undefined ? { forMs: forMs(input.for) } : {}),
    ...(input.status !== undefined ? { status: input.status } : {}),
    ...(input.message !== undefined ? { message: input.message } : {}),
    ...(input.id !== undefined ? { id: input.id } : {}),
    ...(input.monitor ? { monitor: true } : {}),
  };
}

const auditNote = (audit: { intent?: number; result?: number; journaled: boolean }): string =>
  audit.journaled
    ? "AUDIT JOURNALED locally (Redis unreachable): run containment audit sync"
    : `audited as #${audit.intent ?? "?"}–#${audit.result ?? "?"}`;

export function opsActions(ctx: OpsContext): ResponderActions {
  return {
    async kill(input): Promise<ActionOutcome> {
      const plan = await planKill(ctx, killInput(input));
      const verb =
        plan.before === undefined
          ? "create"
          : `replace (version ${plan.before.version ?? 0} → ${plan.item.version})`;
      const preview = describePreview(plan.preview);
      // The CLI's rules: a replacement that blocks less, or a route nobody has, is refused here
      // before the confirmation (the page has no --narrow: narrowing on purpose is the CLI's).
      const refused = refusal(plan);
      if (refused !== undefined) throw refused;
      const changed = plan.diff.filter((d) => d.from !== d.to && plan.before !== undefined);
      const diff =
        changed.length === 0
          ? ""
          : ` Changes: ${changed.map((d) => `${d.field} ${d.from} → ${d.to}`).join("; ")}.`;
      const beside = plan.alongside
        .map((o) => ` Switch ${o.id} (${o.incident ?? "no incident"}) stays in force beside it.`)
        .join("");
      if (input.dryRun)
        return {
          summary: `${verb} kill switch ${plan.id}.${diff}${beside} ${preview}. Store: ${plan.size.after} of ${plan.size.limit} bytes (${plan.size.plan} plan).`,
          detail: {
            id: plan.id,
            everyRoute: plan.everyRoute,
            diff: plan.diff,
            alongside: plan.alongside,
            preview: plan.preview,
            size: plan.size,
            item: plan.item,
          },
        };
      if (plan.everyRoute && !input.confirmAll)
        throw new ActionRefused(
          409,
          "confirm_all",
          "This switch blocks EVERY route for EVERY tenant. Confirm again only if that is what you mean; otherwise narrow it by tenant, method or host.",
        );
      const result = await applyKill(ctx, plan);
      return {
        summary: `Kill switch ${result.id} ${result.created ? "created" : "replaced"} (version ${result.version}); ${auditNote(result.audit)}.${result.warnings.length > 0 ? ` ${result.warnings.join(" ")}` : ""}`,
        detail: {
          id: result.id,
          version: result.version,
          key: result.key,
          audit: result.audit,
          fastLane: result.fastLane,
        },
      };
    },
    async lift(input) {
      const plan = await planLift(ctx, { id: input.id });
      const [result] = await applyLift(ctx, plan, input.reason);
      if (!result)
        throw new ActionRefused(404, "ERR_NOT_FOUND", `no kill switch ${input.id}: nothing was changed`);
      return {
        summary: `Kill switch ${result.id} lifted; ${auditNote(result.audit)}.${result.warnings.length > 0 ? ` ${result.warnings.join(" ")}` : ""}`,
        detail: { id: result.id, version: result.version, audit: result.audit },
      };
    },
    async extend(input) {
      const plan = await planExtend(ctx, { id: input.id, forMs: forMs(input.for) });
      const result = await applyExtend(ctx, plan, input.reason);
      return {
        summary: `Kill switch ${result.id} extended until ${result.expiresAt} (version ${result.version}); ${auditNote(result.audit)}.`,
        detail: { id: result.id, version: result.version, expiresAt: result.expiresAt, audit: result.audit },
      };
    },
    async releaseQuarantine(input) {
      const result = await releaseQuarantine(
        ctx,
        `${input.dimension}:${input.id}`,
        input.reason,
        input.incident ?? null,
      );
      return {
        summary: `Quarantine ${input.dimension}:${input.id} ${result.released ? "released" : "was already gone"}${result.journaled ? " (audit journaled locally: run containment audit sync)" : "; audited"}.`,
        detail: { key: result.key, released: result.released },
      };
    },
  };
}

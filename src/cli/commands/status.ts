import { Command, InvalidArgumentError } from "commander";
import { formatLeft, formatSpan } from "../../ops/actions/list.js";
import {
  type RegionStatus,
  readStatus,
  type StatusSnapshot,
  type UnauditedChange,
} from "../../ops/actions/status.js";
import { webhookNotifier } from "../../ops/notify.js";
import { action, emit, withOpsOptions } from "../ops.js";
import { writeRaw } from "../terminal.js";
import { detectionLine } from "./detections.js";

/** Whether the regions enforce what Edge Config holds, in one line. */
function digestLine(s: StatusSnapshot): string {
  if (s.digestsAgree === true) return "digests agree: every region that reported enforces the live ruleset";
  if (s.digestsAgree === null)
    return s.regions === null || s.regions.length === 0
      ? "digests: unknown (no region reported in the last 5 minutes)"
      : "digests: unknown (no rules document in Edge Config)";
  const differing = (s.regions ?? []).filter(
    (r) => r.digests.length !== 1 || r.digests[0] !== s.rulesetDigest,
  );
  // A region that last reported before the change says nothing yet about the change: it has not
  // served a request since (isolates report with their flushes), which is not a failure to reload.
  const changedAt = s.lastChangeAt;
  const silent = changedAt === null ? [] : differing.filter((r) => r.lastSeen < changedAt);
  const behind = differing.filter((r) => !silent.includes(r)).map((r) => r.region);
  const notReported =
    changedAt === null
      ? ""
      : `${silent.map((r) => r.region).join(", ")} not reported since the change at ${new Date(changedAt).toISOString()} (an isolate reports after it serves a request: not a failure to reload)`;
  if (behind.length === 0) return `digests: ${notReported}`;
  const line = `DIGESTS DIFFER: ${behind.join(", ")} enforce(s) another ruleset than Edge Config holds (reloading after a change takes seconds, and a fast-lane switch counts before it reaches Edge Config; if it lasts, see docs/runbook.md)`;
  return silent.length === 0 ? line : `${line}; ${notReported}`;
}

function regionAgrees(s: StatusSnapshot, r: RegionStatus): string {
  if (s.rulesetDigest === null || r.digests.length === 0) return "";
  return r.digests.length === 1 && r.digests[0] === s.rulesetDigest ? " (live)" : " (NOT the live one)";
}

/** One unaudited change: the dev server's rules file is a note; anything else is the alarm. */
function unauditedLine(change: UnauditedChange): string {
  const what = change.deleted ? `${change.key} was deleted` : change.key;
  const since =
    change.lastAuditedSeq === null
      ? "no audit entry ever wrote it"
      : `it differs from audit #${change.lastAuditedSeq}, its last audited write`;
  if (change.source === "containment-dev")
    return `note: ${what} was written by \`containment dev\` from its rules file ${change.file ?? ""} (not audited: the local rules file is the source)`;
  return `CHANGED WITHOUT AN AUDIT ENTRY: ${what}: ${since}; made outside containment (Vercel UI, the API, Terraform?): review it with \`containment rules diff\` or \`containment list\``;
}

export function statusLines(s: StatusSnapshot): string[] {
  const lines = [
    `edge-containment status at ${new Date(s.at).toISOString()}`,
    `live ruleset digest: ${s.rulesetDigest ?? "? (no rules document in Edge Config)"} (Edge Config store digest ${s.digest ?? "?"})`,
    digestLine(s),
  ];
  lines.push("regions:");
  if (s.regions === null) lines.push("  (not available)");
  else if (s.regions.length === 0) lines.push("  no isolate reported in the last 5 minutes");
  for (const r of s.regions ?? [])
    lines.push(
      `  ${r.region.padEnd(10)} ${r.isolates} isolate(s), ${r.verified} verified, digest ${r.digests.join(",") || "?"}${regionAgrees(s, r)}, last seen ${formatSpan(Math.max(0, s.at - r.lastSeen))} ago`,
    );
  lines.push("kill switches:");
  if (s.switches.length === 0) lines.push("  none");
  for (const w of s.switches)
    lines.push(
      `  ${w.state.padEnd(8)} ${w.id}@${w.version} ${w.match} ${formatLeft(w.leftMs)} by ${w.by ?? "?"} ${w.incident ?? ""}`,
    );
  for (const e of s.expiring)
    lines.push(
      `ALERT: kill switch ${e.id}@${e.version} of open incident ${e.incident ?? "(none)"} lifts itself in ${formatSpan(e.leftMs)} (${e.expiresAt}): extend it (containment extend ${e.id} --for 1h) or the route is served again`,
    );
  lines.push("blocked / rate-limited, last 5 minutes:");
  if (s.counts === null) lines.push("  (not available)");
  else if (s.counts.length === 0) lines.push("  nothing");
  for (const c of s.counts ?? []) lines.push(`  ${c.rule.padEnd(24)} ${c.outcome.padEnd(13)} ${c.n}`);
  lines.push(`quarantined identities: ${s.quarantined ?? "?"}`);
  const open = s.detections?.filter((d) => d.state === "open") ?? [];
  lines.push(
    `detections: ${s.detections === null ? "?" : `${open.length} open of the latest ${s.detections.length}`}`,
  );
  for (const d of s.detections?.slice(0, 5) ?? []) lines.push(`  ${detectionLine(d)}`);
  lines.push(`rejected rules pushes (last hour): ${s.rejectedPushes?.length ?? "?"}`);
  for (const p of s.rejectedPushes?.slice(0, 3) ?? [])
    lines.push(`  ${new Date(p.at).toISOString()} ${p.region}: ${p.message.slice(0, 120)}`);
  lines.push(`mirror drops: ${s.drops ? `${s.drops.decisions} decisions, ${s.drops.events} events` : "?"}`);
  for (const change of s.unauditedChanges ?? []) lines.push(unauditedLine(change));
  for (const p of s.problems) lines.push(`note: ${p}`);
  return lines;
}

interface Alerts {
  expiring: Set<string>;
  rejected: number;
  drops: number;
}

function alertsOf(s: StatusSnapshot, seen: Alerts): string[] {
  const out: string[] = [];
  for (const w of s.switches)
    if (w.state === "expiring" && !seen.expiring.has(`${w.id}@${w.version}`)) {
      seen.expiring.add(`${w.id}@${w.version}`);
      const open = s.expiring.some((e) => e.id === w.id && e.version === w.version);
      out.push(
        `kill switch ${w.id}@${w.version} expires in ${formatSpan(w.leftMs ?? 0)} (${w.incident ?? "no incident"}${open ? ", incident still open: extend it or the route is served again" : ""})`,
      );
    }
  const rejected = s.rejectedPushes?.length ?? 0;
  if (rejected > seen.rejected)
    out.push(
      `${rejected - seen.rejected} rules push(es) rejected at the edge: ${s.rejectedPushes?.[0]?.message.slice(0, 120) ?? ""}`,
    );
  seen.rejected = Math.max(seen.rejected, rejected);
  const drops = s.drops?.decisions ?? 0;
  if (drops > seen.drops) out.push(`the mirror dropped ${drops - seen.drops} more decisions`);
  seen.drops = Math.max(seen.drops, drops);
  return out;
}

function everySeconds(text: string): number {
  const n = Number(text);
  if (!/^\d+(\.\d+)?$/.test(text) || n < 1 || n > 3600)
    throw new InvalidArgumentError("must be a number of seconds from 1 to 3600");
  return n;
}

/** `containment status [--watch]`. */
export function statusCommand(): Command {
  const command = new Command("status")
    .description("what is enforced where: live digest, regions, switches, blocked counts, quarantines, drops")
    .option("--watch", "refresh in place every --every seconds (Ctrl-C to stop)")
    .option("--every <seconds>", "refresh interval of --watch (1 to 3600)", everySeconds, 2)
    .addHelpText(
      "after",
      "\nExamples:\n  $ containment status\n  $ containment status --watch --webhook slack:https://hooks.slack.com/services/…",
    );
  withOpsOptions(command);
  return command.action(
    action(async ({ ctx, config }, flags) => {
      const opts = command.opts() as { watch?: boolean; every: number };
      if (!opts.watch) {
        const snapshot = await readStatus(ctx);
        emit(flags, { status: snapshot }, statusLines(snapshot));
        return 0;
      }
      const notify = webhookNotifier(config.webhooks, (line) => console.error(line));
      const seen: Alerts = { expiring: new Set(), rejected: -1, drops: -1 };
      let stop = false;
      process.once("SIGINT", () => {
        stop = true;
      });
      while (!stop) {
        const snapshot = await readStatus(ctx);
        if (seen.rejected === -1) {
          // Only news is alerted: what was already there when watching began is the baseline.
          seen.rejected = snapshot.rejectedPushes?.length ?? 0;
          seen.drops = snapshot.drops?.decisions ?? 0;
        }
        for (const summary of alertsOf(snapshot, seen))
          await notify({
            kind: "alert",
            action: "status-watch",
            summary,
            at: new Date(snapshot.at).toISOString(),
          });
        if (flags.json) process.stdout.write(`${JSON.stringify({ ok: true, status: snapshot })}\n`);
        else {
          // The screen refresh is the CLI's own sequence; the lines are data, escaped by the guard.
          writeRaw(process.stdout, "\x1b[H\x1b[2J");
          process.stdout.write(
            `${statusLines(snapshot).join("\n")}\n(refreshing every ${opts.every} s; Ctrl-C to stop)\n`,
          );
        }
        const until = Date.now() + opts.every * 1000;
        while (!stop && Date.now() < until) await new Promise((resolve) => setTimeout(resolve, 100));
      }
      return 0;
    }),
  );
}

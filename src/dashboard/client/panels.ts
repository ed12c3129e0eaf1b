/**
 * The page's panels, each drawn from one part of the snapshot: kill switches, regions, top lists,
 * quarantines, events, mirror health and audit, the open incident with its regulatory clocks.
 */
import type { DetectionEntry, EventEntry, RegionEntry, Snapshot, SwitchEntry } from "../api.js";
import { extendDialog, liftDialog, releaseDialog } from "./actions.js";
import { $, ACTIONS, ago, button, clock, dateTime, duration, el, fill, row, scopeOf } from "./view.js";

function stateOf(s: SwitchEntry): string {
  const mode = s.monitor ? " (monitor only: logs, blocks nothing)" : "";
  if (s.state === "expired") return `expired, still in Edge Config${mode}`;
  if (s.state === "expiring") return `expiring soon${mode}`;
  return `active${mode}`;
}

export function switchesPanel(snapshot: Snapshot): void {
  const source = {
    "edge-config": "Read from Edge Config.",
    "isolate-reports":
      "As the edge reports enforcing them (Edge Config is not readable here, so details are missing).",
    none: "",
  }[snapshot.switchesSource];
  $("switches-source").textContent = source;
  const rows = snapshot.switches.map((s) => {
    const left =
      s.msLeft === undefined
        ? "no expiry"
        : s.msLeft <= 0
          ? `expired ${duration(s.msLeft)} ago`
          : duration(s.msLeft);
    const cells: Array<string | Node> = [
      `${s.id} (v${s.version})`,
      scopeOf(s),
      s.incident ?? "—",
      s.reason ?? "—",
      s.by ?? "—",
      left,
      stateOf(s),
    ];
    if (ACTIONS) {
      const group = el("div", undefined, { class: "buttons" });
      group.append(
        button("Lift", `Lift switch ${s.id}`, (b) => liftDialog(s, b)),
        button("Extend", `Extend switch ${s.id}`, (b) => extendDialog(s, b)),
      );
      cells.push(group);
    }
    return row(cells, 1);
  });
  fill("switches-table", rows, "No kill switches.");
}

function digestCell(r: RegionEntry): string {
  if (r.digests.length <= 1) return r.digest;
  return `${r.digest} (${r.digests.map((d) => `${d.isolates} on ${d.digest}`).join(", ")}: still propagating)`;
}

export function regionsPanel(snapshot: Snapshot): void {
  const now = snapshot.generatedAt;
  const rows = snapshot.regions.map((r) =>
    row(
      [
        r.region,
        digestCell(r),
        r.source === "enforcing"
          ? "(one unsigned report per region)"
          : `${r.isolates} (${r.verified === r.isolates ? "all" : r.verified} verified)`,
        ago(now, r.since),
        ago(now, r.lastSeen),
        r.switches.length === 0 ? "—" : r.switches.join(", "),
      ],
      1,
    ),
  );
  fill("regions-table", rows, "No region has reported yet (no traffic since the mirror started?).");
}

export function topPanel(snapshot: Snapshot): void {
  $("top-window").textContent = `Blocked requests over the last ${snapshot.topWindowMinutes} minutes.`;
  for (const dimension of ["tenant", "user", "ip"] as const) {
    fill(
      `top-${dimension}`,
      snapshot.top[dimension].map((t) => row([t.id, t.blocked], 1)),
      "Nothing blocked.",
    );
  }
}

export function quarantinesPanel(snapshot: Snapshot): void {
  const rows = snapshot.quarantines.map((q) => {
    const cells: Array<string | Node> = [
      q.dimension,
      // The tenant by name, as the events table shows it; the key's id is a keyed pseudonym.
      q.tenant ? `${q.tenant} (key ${q.id})` : q.id,
      q.ttlSeconds < 0 ? "no expiry" : duration(q.ttlSeconds * 1000),
    ];
    if (ACTIONS)
      cells.push(
        button("Release", `Release quarantine ${q.dimension}:${q.id}`, (b) =>
          releaseDialog(q.dimension, q.id, b),
        ),
      );
    return row(cells);
  });
  fill("quarantines-table", rows, "Nobody is quarantined.");
}

/** What a detection counted, in words: distinct records, requests or refusals over the threshold, per window. */
export function detectionMeasure(d: DetectionEntry): string {
  const unit =
    { enumeration: "distinct records", surge: "requests", probing: "refusals" }[d.type] ?? "decoy hits";
  return `${d.value} ${unit} (threshold ${d.threshold}) in ${duration(d.windowMs)}`;
}

const DID: Readonly<Record<string, string>> = {
  quarantined: "quarantined the key on its scope",
  "already-quarantined": "key already quarantined",
  alert: "alerted",
  monitor: "monitor: would have quarantined",
  "awaiting-approval": "AWAITS APPROVAL (whole tenant)",
  "budget-exhausted": "NOT CONTAINED: budget used up",
  "paused-suspected-misconfiguration": "NOT CONTAINED: paused, suspected rules error",
};

export function detectionsPanel(snapshot: Snapshot): void {
  const rows = snapshot.detections.map((d) =>
    row(
      [
        d.id,
        new Date(d.at).toISOString().slice(0, 19).replace("T", " "),
        `${d.type} ${d.detector}`,
        d.route,
        d.key,
        d.tenant ?? "—",
        detectionMeasure(d),
        `${DID[d.action] ?? d.action}${d.approvedBy ? ` (approved by ${d.approvedBy})` : ""}`,
        d.state === "released"
          ? `released by ${d.releasedBy ?? "?"}${d.releasedAt ? ` at ${dateTime(d.releasedAt)}` : ""}`
          : "open",
      ],
      1,
    ),
  );
  fill("detections-table", rows, "No detections.");
}

export function eventsPanel(events: EventEntry[]): void {
  const rows = events.map((e) =>
    row([
      clock(e.ts),
      e.count > 1 ? `${e.outcome} ×${e.count}` : e.outcome,
      e.rule ?? "—",
      e.status ?? "—",
      e.method ?? "—",
      e.path ?? "—",
      e.tenant ?? "—",
      e.user ?? "—",
      e.ip ?? "—",
      e.region ?? "—",
    ]),
  );
  fill("events-table", rows, "No events mirrored yet.");
}

export function healthPanel(snapshot: Snapshot): void {
  const list = $("health-list");
  const items: Array<[string, string]> = [
    ["Decisions missing from the counts (mirror drops)", String(snapshot.mirror.drops)],
    ["Counted decisions whose event was not kept", String(snapshot.mirror.eventDrops)],
    ["Decisions isolates made that never reached Redis", String(snapshot.mirror.gap)],
    ["Audit entries", String(snapshot.audit.length)],
    ["Audit chain head", snapshot.audit.head ?? "none"],
    [
      "Audit chain",
      {
        verified: "verified link by link",
        broken: `BROKEN${snapshot.audit.detail ? `: ${snapshot.audit.detail}` : ""}`,
        unverified: "not verified here (run containment audit verify)",
        empty: "no entries yet",
      }[snapshot.audit.state],
    ],
  ];
  list.replaceChildren(...items.flatMap(([k, v]) => [el("dt", k), el("dd", v)]));
  fill(
    "rejected-table",
    snapshot.rejectedPushes.map((p) => row([clock(p.ts), p.region ?? "—", p.reason])),
    "None.",
  );
  fill(
    "audit-table",
    snapshot.audit.recent.map((a) =>
      row([
        a.seq ?? "—",
        a.ts ? `${a.ts.replace("T", " ").slice(0, 19)} UTC` : "—",
        a.actor ?? "—",
        a.action ?? "—",
        a.phase ?? "—",
        a.incident ?? "—",
      ]),
    ),
    "No audit entries.",
  );
}

export function incidentPanel(snapshot: Snapshot): void {
  const body = $("incident-body");
  const incident = snapshot.incident;
  if (!incident) {
    body.replaceChildren(el("p", "No open incident."));
    return;
  }
  const dl = el("dl");
  const add = (k: string, v: string) => dl.append(el("dt", k), el("dd", v));
  add("Incident", `${incident.id}${incident.title ? `: ${incident.title}` : ""}`);
  if (incident.discovered) add("Discovered", dateTime(incident.discovered));
  if (incident.dataClasses.length > 0) add("Data classes", incident.dataClasses.join(", "));
  add("Exposure scope", scopeText(incident.scope));
  const parts: HTMLElement[] = [dl];
  if (incident.rolesMissing)
    parts.push(
      el("p", "Regulatory clocks: none computed, the incident was opened without a HIPAA or GDPR role."),
    );
  // One list per legal role, each obligation with its deadline or why it has none.
  const roles = [
    ...new Set([...incident.clocks.map((c) => c.role ?? ""), ...(incident.undated ?? []).map((u) => u.role)]),
  ];
  for (const role of roles) {
    parts.push(el("h3", role === "" ? "Regulatory clocks" : `Clocks as ${role}`));
    const list = el("dl");
    for (const c of incident.clocks.filter((c) => (c.role ?? "") === role))
      list.append(
        el("dt", c.name),
        el(
          "dd",
          c.msLeft > 0
            ? `${duration(c.msLeft)} left (due ${dateTime(c.deadline)})`
            : `OVERDUE by ${duration(c.msLeft)} (was due ${dateTime(c.deadline)})`,
        ),
      );
    for (const u of (incident.undated ?? []).filter((u) => u.role === role))
      list.append(el("dt", u.name), el("dd", `no computed deadline: ${u.basis}`));
    parts.push(list);
  }
  body.replaceChildren(...parts);
}

function scopeText(scope: NonNullable<Snapshot["incident"]>["scope"]): string {
  if (!scope)
    return "not declared (containment incident open … --scope-route): the verdict cannot be measured";
  return `${scope.routes.join(", ")}; ${scope.tenants ? `tenants ${scope.tenants.join(", ")}` : "every tenant"}; ${scope.methods ? scope.methods.join(", ") : "every method"}`;
}

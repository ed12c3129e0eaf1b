/**
 * The dashboard page's script (bundled by scripts/dashboard-assets.ts into assets.gen.ts; the user
 * runs no build). Data arrives over server-sent events, or by polling when EventSource is missing or
 * keeps failing. Every value goes into the page through textContent, never as HTML.
 */
import type uPlotType from "uplot";
import type { EventEntry, RegionEntry, SeriesEntry, Snapshot, SwitchEntry } from "../api.js";

type UPlotCtor = typeof uPlotType;
const UPlot = (globalThis as unknown as { uPlot?: UPlotCtor }).uPlot;

const POLL_MS = 5_000;
const SSE_FAILURES_BEFORE_POLLING = 3;
const meta = (name: string): string | undefined =>
  document.querySelector<HTMLMetaElement>(`meta[name="${name}"]`)?.content;
const ACTIONS = meta("containment-actions") === "on";
const CSRF = meta("containment-csrf") ?? "";

const $ = <T extends HTMLElement = HTMLElement>(id: string): T => {
  const found = document.getElementById(id);
  if (!found) throw new Error(`missing #${id}`);
  return found as T;
};

function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  text?: string | number,
  attrs: Record<string, string> = {},
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = String(text);
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, value);
  return node;
}

function row(cells: Array<string | number | Node>, header = 0): HTMLTableRowElement {
  const tr = el("tr");
  cells.forEach((cell, i) => {
    const td = i < header ? el("th", undefined, { scope: "row" }) : el("td");
    if (cell instanceof Node) td.append(cell);
    else td.textContent = String(cell);
    tr.append(td);
  });
  return tr;
}

/**
 * Replaces a table's rows only when what they show changed, and puts the keyboard focus back on the
 * same control (by accessible name) when it did: a refresh every few seconds must never pull the
 * focus out from under a keyboard user.
 */
function fill(tableId: string, rows: HTMLTableRowElement[], empty: string): void {
  const table = $<HTMLTableElement>(tableId);
  const tbody = table.tBodies[0];
  if (!tbody) return;
  const columns = table.tHead?.rows[0]?.cells.length ?? 1;
  if (rows.length === 0) {
    const td = el("td", empty, { colspan: String(columns), class: "empty" });
    const tr = el("tr");
    tr.append(td);
    rows = [tr];
  }
  const key = rows.map((r) => r.innerHTML).join("\n");
  if (table.dataset.key === key) return;
  table.dataset.key = key;
  const focused = document.activeElement;
  const focusName = focused && tbody.contains(focused) ? focused.getAttribute("aria-label") : null;
  tbody.replaceChildren(...rows);
  if (focusName !== null) {
    const again = [...tbody.querySelectorAll<HTMLElement>("[aria-label]")].find(
      (node) => node.getAttribute("aria-label") === focusName,
    );
    (again ?? table).focus();
  }
}

const clock = (ms: number): string =>
  new Date(ms).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" });
const minuteLabel = (minute: number): string =>
  new Date(minute * 60_000).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });

function duration(ms: number): string {
  const abs = Math.abs(ms);
  const h = Math.floor(abs / 3_600_000);
  const m = Math.floor((abs % 3_600_000) / 60_000);
  const s = Math.floor((abs % 60_000) / 1000);
  if (h >= 48) return `${Math.floor(h / 24)} d ${h % 24} h`;
  if (h > 0) return `${h} h ${m} min`;
  if (m > 0) return `${m} min`;
  return `${s} s`;
}

const ago = (now: number, at: number): string => (at > 0 ? `${duration(now - at)} ago (${clock(at)})` : "—");

// ---- chart -------------------------------------------------------------------------------------

/** Colours pass 4.5:1 on white, and every series also has its own dash pattern: never colour alone. */
const STROKES = ["#1d4ed8", "#b91c1c", "#047857", "#92400e", "#6d28d9", "#0f766e", "#be185d", "#374151"];
const DASHES: number[][] = [[], [10, 5], [2, 4], [14, 4, 3, 4], [6, 3], [1, 2], [20, 6], [4, 8]];
const MAX_SERIES = 8;

let chart: InstanceType<UPlotCtor> | undefined;
let chartKey = "";

const seriesLabel = (s: SeriesEntry): string => `${s.rule} (${s.outcome})`;

function drawChart(snapshot: Snapshot): void {
  const series = snapshot.series.slice(0, MAX_SERIES);
  const key = series.map(seriesLabel).join("\n");
  const data = [snapshot.minutes.map((m) => m * 60), ...series.map((s) => s.counts)] as uPlotType.AlignedData;
  const host = $("chart");
  if (!UPlot) {
    host.textContent = "The chart library did not load; the table below has the same data.";
    return;
  }
  if (chart && key === chartKey) {
    chart.setData(data);
    return;
  }
  chart?.destroy();
  chartKey = key;
  chart = new UPlot(
    {
      width: Math.max(300, host.clientWidth || 800),
      height: 260,
      scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, Math.max(5, Math.ceil(max * 1.1))] } },
      axes: [{ stroke: "#111827" }, { stroke: "#111827", label: "requests / min" }],
      series: [
        { label: "minute" },
        ...series.map((s, i) => ({
          label: seriesLabel(s),
          stroke: STROKES[i % STROKES.length] ?? "#111827",
          dash: DASHES[i % DASHES.length] ?? [],
          width: 2,
          points: { show: true, size: 5 },
        })),
      ],
      legend: { show: true },
      cursor: { show: true },
    },
    data,
    host,
  );
}

function chartTable(snapshot: Snapshot): void {
  const series = snapshot.series;
  const table = $<HTMLTableElement>("chart-table");
  const head = el("tr");
  head.append(
    el("th", "Minute", { scope: "col" }),
    ...series.map((s) => el("th", seriesLabel(s), { scope: "col" })),
  );
  table.tHead?.replaceChildren(head);
  const rows = snapshot.minutes
    .map((m, i) => ({ m, i }))
    .reverse()
    .map(({ m, i }) => row([minuteLabel(m), ...series.map((s) => s.counts[i] ?? 0)], 1));
  fill(
    "chart-table",
    series.length === 0 ? [] : rows,
    "No blocked or rate-limited requests in the last 30 minutes.",
  );
  const last = snapshot.series.map(
    (s) => `${seriesLabel(s)}: ${s.counts.at(-1) ?? 0} in the current minute, ${s.total} in 30 min`,
  );
  $("chart-summary").textContent =
    last.length === 0 ? "No blocked or rate-limited requests in the last 30 minutes." : `${last.join("; ")}.`;
}

// ---- panels ------------------------------------------------------------------------------------

function scopeOf(s: SwitchEntry): string {
  const parts = [`${s.methods?.join(", ") ?? "all methods"} ${s.path}`];
  if (s.tenants) parts.push(`tenants ${s.tenants.join(", ")}`);
  if (s.hosts) parts.push(`hosts ${s.hosts.join(", ")}`);
  return `${parts.join("; ")} → ${s.status}`;
}

function stateOf(s: SwitchEntry): string {
  const mode = s.monitor ? " (monitor only: logs, blocks nothing)" : "";
  if (s.state === "expired") return `expired, still in Edge Config${mode}`;
  if (s.state === "expiring") return `expiring soon${mode}`;
  return `active${mode}`;
}

function button(
  label: string,
  accessibleName: string,
  onClick: (b: HTMLButtonElement) => void,
): HTMLButtonElement {
  const b = el("button", label, { type: "button", "aria-label": accessibleName });
  b.addEventListener("click", () => onClick(b));
  return b;
}

function switchesPanel(snapshot: Snapshot): void {
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

function regionsPanel(snapshot: Snapshot): void {
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

function topPanel(snapshot: Snapshot): void {
  $("top-window").textContent = `Blocked requests over the last ${snapshot.topWindowMinutes} minutes.`;
  for (const dimension of ["tenant", "user", "ip"] as const) {
    fill(
      `top-${dimension}`,
      snapshot.top[dimension].map((t) => row([t.id, t.blocked], 1)),
      "Nothing blocked.",
    );
  }
}

function quarantinesPanel(snapshot: Snapshot): void {
  const rows = snapshot.quarantines.map((q) => {
    const cells: Array<string | Node> = [
      q.dimension,
      q.id,
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

function eventsPanel(events: EventEntry[]): void {
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

function healthPanel(snapshot: Snapshot): void {
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
      row([a.seq ?? "—", a.ts ?? "—", a.actor ?? "—", a.action ?? "—", a.phase ?? "—", a.incident ?? "—"]),
    ),
    "No audit entries.",
  );
}

function incidentPanel(snapshot: Snapshot): void {
  const body = $("incident-body");
  const incident = snapshot.incident;
  if (!incident) {
    body.replaceChildren(el("p", "No open incident."));
    return;
  }
  const dl = el("dl");
  const add = (k: string, v: string) => dl.append(el("dt", k), el("dd", v));
  add("Incident", `${incident.id}${incident.title ? `: ${incident.title}` : ""}`);
  if (incident.discovered) add("Discovered", new Date(incident.discovered).toLocaleString());
  if (incident.dataClasses.length > 0) add("Data classes", incident.dataClasses.join(", "));
  if (incident.rolesMissing)
    add("Regulatory clocks", "none computed: the incident was opened without a HIPAA or GDPR role");
  for (const c of incident.clocks)
    add(
      c.name,
      c.msLeft > 0
        ? `${duration(c.msLeft)} left (due ${new Date(c.deadline).toLocaleString()})`
        : `OVERDUE by ${duration(c.msLeft)}`,
    );
  body.replaceChildren(dl);
}

let lastSnapshot: Snapshot | undefined;

function render(snapshot: Snapshot): void {
  lastSnapshot = snapshot;
  $("updated").textContent = `Updated ${clock(snapshot.generatedAt)}.`;
  const problems = $("problems");
  problems.hidden = snapshot.problems.length === 0;
  problems.textContent =
    snapshot.problems.length === 0 ? "" : `Partly unavailable: ${snapshot.problems.join("; ")}`;
  incidentPanel(snapshot);
  drawChart(snapshot);
  chartTable(snapshot);
  switchesPanel(snapshot);
  regionsPanel(snapshot);
  topPanel(snapshot);
  quarantinesPanel(snapshot);
  eventsPanel(snapshot.events);
  healthPanel(snapshot);
  document.body.dataset.generatedAt = String(snapshot.generatedAt);
}

// ---- live updates ------------------------------------------------------------------------------

let mode: "sse" | "polling" | "" = "";
function setMode(next: "sse" | "polling", text: string): void {
  if (mode === next && $("live").textContent === text) return;
  mode = next;
  $("live").textContent = text;
  document.body.dataset.mode = next;
}

async function poll(): Promise<void> {
  try {
    const response = await fetch("api/v1/snapshot", { headers: { accept: "application/json" } });
    if (!response.ok) throw new Error(String(response.status));
    render((await response.json()) as Snapshot);
    setMode("polling", `Live (polling every ${POLL_MS / 1000} s).`);
  } catch {
    setMode("polling", "Cannot reach the dashboard server; retrying.");
  }
}

function startPolling(): void {
  void poll();
  setInterval(() => void poll(), POLL_MS);
}

function connect(): void {
  if (typeof EventSource === "undefined") {
    startPolling();
    return;
  }
  const source = new EventSource("api/v1/stream");
  let failures = 0;
  source.addEventListener("snapshot", (event) => {
    failures = 0;
    render(JSON.parse((event as MessageEvent<string>).data) as Snapshot);
    setMode("sse", "Live (server-sent events).");
  });
  source.addEventListener("problem", () =>
    setMode("sse", "Live, but the mirror did not answer the last read."),
  );
  source.addEventListener("error", () => {
    failures++;
    if (failures >= SSE_FAILURES_BEFORE_POLLING || source.readyState === EventSource.CLOSED) {
      source.close();
      startPolling();
    }
  });
}

async function refreshNow(): Promise<void> {
  try {
    const response = await fetch("api/v1/snapshot");
    if (response.ok) render((await response.json()) as Snapshot);
  } catch {
    // The stream or the poller will catch up.
  }
}

// ---- actions (local dashboard only) -----------------------------------------------------------

interface ActionAnswer {
  ok?: boolean;
  summary?: string;
  error?: { code: string; message: string };
}

async function post(
  action: string,
  body: Record<string, unknown>,
): Promise<ActionAnswer & { status: number }> {
  const response = await fetch(`api/v1/actions/${action}`, {
    method: "POST",
    headers: { "content-type": "application/json", "x-containment-csrf": CSRF },
    body: JSON.stringify(body),
    credentials: "same-origin",
  });
  let answer: ActionAnswer = {};
  try {
    answer = (await response.json()) as ActionAnswer;
  } catch {
    answer = { error: { code: "bad_answer", message: `The server answered ${response.status}.` } };
  }
  return { ...answer, status: response.status };
}

function announce(text: string, isError = false): void {
  const out = $("action-result");
  out.textContent = text;
  out.classList.toggle("error", isError);
}

interface DialogField {
  name: string;
  label: string;
  value?: string;
  required?: boolean;
}

let returnFocus: HTMLElement | undefined;

/** Opens the confirmation dialog; resolves with the fields' values on Confirm, undefined on Cancel/Escape. */
function confirmDialog(
  title: string,
  text: string,
  okLabel: string,
  fields: DialogField[],
  opener: HTMLElement | undefined,
): Promise<Record<string, string> | undefined> {
  const dialog = $<HTMLDialogElement>("confirm");
  const form = $<HTMLFormElement>("confirm-form");
  $("confirm-h").textContent = title;
  $("confirm-text").textContent = text;
  $("confirm-ok").textContent = okLabel;
  const extra = $("confirm-extra");
  extra.replaceChildren(
    ...fields.map((f) => {
      const wrap = el("div", undefined, { class: "field" });
      const id = `confirm-${f.name}`;
      const input = el("input", undefined, { id, name: f.name, autocomplete: "off" });
      input.value = f.value ?? "";
      if (f.required) input.required = true;
      wrap.append(el("label", f.label, { for: id }), input);
      return wrap;
    }),
  );
  returnFocus = opener;
  return new Promise((resolve) => {
    const finish = (result: Record<string, string> | undefined) => {
      form.removeEventListener("submit", onSubmit);
      $("confirm-cancel").removeEventListener("click", onCancel);
      dialog.removeEventListener("cancel", onCancel);
      if (dialog.open) dialog.close();
      returnFocus?.focus();
      resolve(result);
    };
    const onSubmit = (event: Event) => {
      event.preventDefault();
      const values: Record<string, string> = {};
      for (const f of fields) {
        const input = document.getElementById(`confirm-${f.name}`) as HTMLInputElement | null;
        const value = input?.value.trim() ?? "";
        if (f.required && value === "") {
          input?.setAttribute("aria-invalid", "true");
          input?.focus();
          return;
        }
        values[f.name] = value;
      }
      finish(values);
    };
    const onCancel = (event: Event) => {
      event.preventDefault();
      finish(undefined);
    };
    form.addEventListener("submit", onSubmit);
    $("confirm-cancel").addEventListener("click", onCancel);
    dialog.addEventListener("cancel", onCancel);
    dialog.showModal();
    const first = extra.querySelector("input") ?? $("confirm-cancel");
    (first as HTMLElement).focus();
  });
}

async function runAction(
  action: string,
  body: Record<string, unknown>,
): Promise<ActionAnswer & { status: number }> {
  announce("Working…");
  const answer = await post(action, body);
  if (answer.ok) announce(answer.summary ?? "Done.");
  else if (answer.status !== 409) announce(answer.error?.message ?? `Failed (${answer.status}).`, true);
  await refreshNow();
  return answer;
}

const list = (value: string): string[] | undefined => {
  const items = value
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  return items.length === 0 ? undefined : items;
};

async function onKillSubmit(event: Event): Promise<void> {
  event.preventDefault();
  const form = event.target as HTMLFormElement;
  const value = (name: string) => (form.elements.namedItem(name) as HTMLInputElement).value.trim();
  const missing = ["path", "reason", "incident"].filter((name) => value(name) === "");
  for (const name of ["path", "reason", "incident"]) {
    const input = form.elements.namedItem(name) as HTMLInputElement;
    if (missing.includes(name)) input.setAttribute("aria-invalid", "true");
    else input.removeAttribute("aria-invalid");
  }
  const errors = $("kill-errors");
  if (missing.length > 0) {
    errors.hidden = false;
    errors.textContent = `Fill in: ${missing.join(", ")}.`;
    (form.elements.namedItem(missing[0] ?? "path") as HTMLInputElement).focus();
    return;
  }
  errors.hidden = true;
  const body: Record<string, unknown> = {
    path: value("path"),
    reason: value("reason"),
    incident: value("incident"),
  };
  const tenants = list(value("tenants"));
  const methods = list(value("methods"));
  if (tenants) body.tenants = tenants;
  if (methods) body.methods = methods.map((m) => m.toUpperCase());
  if (value("for")) body.for = value("for");
  if (value("id")) body.id = value("id");
  const scope = `${methods?.join(", ") ?? "every method"} ${body.path as string}${tenants ? ` for tenants ${tenants.join(", ")}` : " for every tenant"}`;
  const until = body.for ? ` for ${body.for as string}` : " until lifted";
  // The CLI's plan first (validation, store size, what it would have blocked): nothing is written yet.
  announce("Checking…");
  const plan = await post("kill", { ...body, dryRun: true });
  if (!plan.ok) return announce(plan.error?.message ?? `Refused (${plan.status}).`, true);
  announce("");
  const ok = await confirmDialog(
    "Flip this kill switch?",
    `Block ${scope}${until}. Reason: ${body.reason as string}. Incident: ${body.incident as string}. ${plan.summary ?? ""}`,
    "Flip kill switch",
    [],
    $("kill-submit"),
  );
  if (!ok) return announce("Cancelled; nothing was changed.");
  let answer = await runAction("kill", body);
  if (answer.status === 409 && answer.error?.code === "confirm_all") {
    const again = await confirmDialog(
      "This blocks EVERY route",
      answer.error.message,
      "Block everything",
      [],
      $("kill-submit"),
    );
    if (!again) return announce("Cancelled; nothing was changed.");
    answer = await runAction("kill", { ...body, confirmAll: true });
  }
  if (answer.status === 409 && answer.error?.code !== "confirm_all")
    announce(answer.error?.message ?? "Conflict.", true);
  if (answer.ok) form.reset();
}

async function liftDialog(s: SwitchEntry, opener: HTMLElement): Promise<void> {
  const values = await confirmDialog(
    `Lift kill switch ${s.id}?`,
    `Requests to ${scopeOf(s)} will pass again once every edge has the change.`,
    "Lift kill switch",
    [{ name: "reason", label: "Reason (required)", required: true }],
    opener,
  );
  if (!values) return announce("Cancelled; nothing was changed.");
  const answer = await runAction("lift", {
    id: s.id,
    reason: values.reason,
    ...(s.incident ? { incident: s.incident } : {}),
  });
  if (answer.status === 409) announce(answer.error?.message ?? "Conflict.", true);
  // The row is gone after a lift: put focus somewhere stable.
  if (answer.ok) $("switches-h").focus();
}

async function extendDialog(s: SwitchEntry, opener: HTMLElement): Promise<void> {
  const values = await confirmDialog(
    `Extend kill switch ${s.id}?`,
    "The new expiry counts from now.",
    "Extend kill switch",
    [
      { name: "for", label: "Duration (e.g. 1h)", value: "1h", required: true },
      { name: "reason", label: "Reason (required)", required: true },
    ],
    opener,
  );
  if (!values) return announce("Cancelled; nothing was changed.");
  const answer = await runAction("extend", { id: s.id, for: values.for, reason: values.reason });
  if (answer.status === 409) announce(answer.error?.message ?? "Conflict.", true);
}

async function releaseDialog(dimension: string, id: string, opener: HTMLElement): Promise<void> {
  const values = await confirmDialog(
    `Release quarantine ${dimension}:${id}?`,
    "The identity is no longer blocked by this quarantine.",
    "Release quarantine",
    [{ name: "reason", label: "Reason (required)", required: true }],
    opener,
  );
  if (!values) return announce("Cancelled; nothing was changed.");
  const answer = await runAction("quarantine-release", { dimension, id, reason: values.reason });
  if (answer.ok) $("quarantines-h").focus();
}

function start(): void {
  for (const id of ["switches-h", "quarantines-h", "switches-table", "quarantines-table"])
    document.getElementById(id)?.setAttribute("tabindex", "-1");
  if (ACTIONS) document.getElementById("kill-form")?.addEventListener("submit", (e) => void onKillSubmit(e));
  window.addEventListener("resize", () => {
    if (chart) chart.setSize({ width: Math.max(300, $("chart").clientWidth), height: 260 });
  });
  connect();
  void lastSnapshot;
}

start();

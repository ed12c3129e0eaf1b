/**
 * The dashboard page's script (bundled by scripts/dashboard-assets.ts into assets.gen.ts; the user
 * runs no build). Data arrives over server-sent events, or by polling when EventSource is missing or
 * keeps failing. Every value goes into the page through textContent, never as HTML.
 */
import type { Snapshot } from "../api.js";
import { afterActions, onKillSubmit } from "./actions.js";
import { chartTable, drawChart, resizeChart } from "./chart.js";
import { connect, refreshNow } from "./live.js";
import {
  eventsPanel,
  healthPanel,
  incidentPanel,
  quarantinesPanel,
  regionsPanel,
  switchesPanel,
  topPanel,
} from "./panels.js";
import { $, ACTIONS, clock } from "./view.js";

function render(snapshot: Snapshot): void {
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

function start(): void {
  for (const id of ["switches-h", "quarantines-h", "switches-table", "quarantines-table"])
    document.getElementById(id)?.setAttribute("tabindex", "-1");
  afterActions(() => refreshNow(render));
  if (ACTIONS) document.getElementById("kill-form")?.addEventListener("submit", (e) => void onKillSubmit(e));
  window.addEventListener("resize", resizeChart);
  connect(render);
}

start();

/**
 * The dashboard page's script (bundled by scripts/dashboard-assets.ts into assets.gen.ts; the user
 * runs no build). Data arrives over server-sent events, or by polling when EventSource is missing or
 * keeps failing. Every value goes into the page through textContent, never as HTML.
 */
import type { Snapshot } from "../api.js";
import { afterActions, onKillSubmit } from "./actions.js";
import { chartTable, drawChart, resizeChart } from "./chart.js";
import { connect, disconnect, refreshNow } from "./live.js";
import {
  detectionsPanel,
  eventsPanel,
  healthPanel,
  incidentPanel,
  quarantinesPanel,
  regionsPanel,
  switchesPanel,
  topPanel,
} from "./panels.js";
import { verdictPanel } from "./verdict.js";
import { $, ACTIONS, api, CSRF, clock, viewerZone } from "./view.js";

function render(snapshot: Snapshot): void {
  $("updated").textContent = `Updated ${clock(snapshot.generatedAt)}.`;
  $("zone").textContent = viewerZone(snapshot.generatedAt);
  const problems = $("problems");
  problems.hidden = snapshot.problems.length === 0;
  problems.textContent =
    snapshot.problems.length === 0 ? "" : `Partly unavailable: ${snapshot.problems.join("; ")}`;
  verdictPanel(snapshot);
  incidentPanel(snapshot);
  drawChart(snapshot);
  chartTable(snapshot);
  switchesPanel(snapshot);
  regionsPanel(snapshot);
  topPanel(snapshot);
  quarantinesPanel(snapshot);
  detectionsPanel(snapshot);
  eventsPanel(snapshot.events);
  healthPanel(snapshot);
  document.body.dataset.generatedAt = String(snapshot.generatedAt);
}

/** Ends the session (local dashboard): POST with the CSRF token; the page then says how to come back. */
async function logout(): Promise<void> {
  const response = await fetch(api("logout"), {
    method: "POST",
    headers: { "x-containment-csrf": CSRF },
    credentials: "same-origin",
  });
  if (response.status !== 204) {
    $("live").textContent = `Log out failed (${response.status}); reload the page.`;
    return;
  }
  const main = $("main");
  main.replaceChildren();
  const note = document.createElement("p");
  note.textContent = "Logged out. To come back, open the new access URL the terminal prints.";
  main.append(note);
  disconnect();
  $("live").textContent = "Logged out.";
}

function start(): void {
  document.getElementById("logout")?.addEventListener("click", () => void logout());
  for (const id of ["switches-h", "quarantines-h", "switches-table", "quarantines-table"])
    document.getElementById(id)?.setAttribute("tabindex", "-1");
  afterActions(() => refreshNow(render));
  if (ACTIONS) document.getElementById("kill-form")?.addEventListener("submit", (e) => void onKillSubmit(e));
  window.addEventListener("resize", resizeChart);
  connect(render);
}

start();

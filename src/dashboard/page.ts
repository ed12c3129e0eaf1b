/**
 * The dashboard page: plain HTML whose panels the client script (client/app.ts) fills from the JSON
 * API. Everything is in the markup a screen reader needs: headings per panel, captions, labels, and
 * a live status line; the chart has its data as a table next to it.
 */
import { escapeHtml } from "../core/escape.js";
import { ASSET_NAMES } from "./assets.gen.js";

export interface PageOptions {
  /** Responder actions (kill, lift, extend, release) shown and enabled: the local dashboard only. */
  actions: boolean;
  /** CSRF token the page sends back with every action (local dashboard). */
  csrf?: string | undefined;
  title?: string | undefined;
  /**
   * Where the dashboard lives, ending in `/` (`/portal/containment/`): asset and API URLs are built on
   * it, so the page works with or without a trailing slash (Next.js redirects one away; the page's
   * CSP forbids a <base> element). Default: relative URLs.
   */
  base?: string | undefined;
}

const ACTIONS_FORM = `
<section id="act" aria-labelledby="act-h">
  <h2 id="act-h">Flip a kill switch</h2>
  <form id="kill-form" novalidate>
    <p class="hint" id="kill-hint">Blocks matching requests at every edge. You confirm before anything is written; the change is audited.</p>
    <div class="grid">
      <label for="kill-path">Path pattern <span class="req">(required)</span></label>
      <input id="kill-path" name="path" required placeholder="/api/:tenant/export/**" aria-describedby="kill-hint" autocomplete="off">
      <label for="kill-reason">Reason <span class="req">(required)</span></label>
      <input id="kill-reason" name="reason" required autocomplete="off">
      <label for="kill-incident">Incident id <span class="req">(required)</span></label>
      <input id="kill-incident" name="incident" required autocomplete="off" placeholder="INC-2041">
      <label for="kill-tenants">Tenants (comma-separated, empty: all)</label>
      <input id="kill-tenants" name="tenants" autocomplete="off">
      <label for="kill-methods">Methods (comma-separated, empty: all)</label>
      <input id="kill-methods" name="methods" autocomplete="off">
      <label for="kill-for">Duration (e.g. 30m, 2h; empty: until lifted)</label>
      <input id="kill-for" name="for" autocomplete="off" value="2h">
      <label for="kill-id">Switch id (optional)</label>
      <input id="kill-id" name="id" autocomplete="off">
    </div>
    <p id="kill-errors" class="error" role="alert" hidden></p>
    <button type="submit" id="kill-submit">Review kill switch…</button>
  </form>
  <p id="action-result" role="status" aria-live="polite"></p>
</section>
<dialog id="confirm" aria-labelledby="confirm-h" aria-describedby="confirm-text">
  <form method="dialog" id="confirm-form">
    <h2 id="confirm-h">Confirm</h2>
    <p id="confirm-text"></p>
    <div id="confirm-extra"></div>
    <div class="buttons">
      <button type="button" id="confirm-cancel">Cancel</button>
      <button type="submit" id="confirm-ok" class="danger">Confirm</button>
    </div>
  </form>
</dialog>`;

export function renderPage(options: PageOptions): string {
  const title = escapeHtml(options.title ?? "Containment dashboard");
  const base = escapeHtml(options.base ?? "");
  const csrf =
    options.csrf === undefined ? "" : `<meta name="containment-csrf" content="${escapeHtml(options.csrf)}">`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<meta name="containment-actions" content="${options.actions ? "on" : "off"}">
<meta name="containment-base" content="${base}">
${csrf}
<title>${title}</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="${base}assets/${ASSET_NAMES.uplotCss}">
<link rel="stylesheet" href="${base}assets/${ASSET_NAMES.appCss}">
<script src="${base}assets/${ASSET_NAMES.uplotJs}" defer></script>
<script src="${base}assets/${ASSET_NAMES.appJs}" defer></script>
</head>
<body>
<a class="skip" href="#main">Skip to content</a>
<header>
  <h1>${title}</h1>
  <p><span id="live" role="status" aria-live="polite">Connecting…</span> <span id="updated"></span> <span id="zone"></span>${options.csrf === undefined ? "" : ' <button type="button" id="logout">Log out</button>'}</p>
  <p id="problems" role="alert" hidden></p>
</header>
<main id="main" tabindex="-1">
<section id="verdict" aria-labelledby="verdict-h" data-state="none">
  <h2 id="verdict-h">Has the leak stopped?</h2>
  <p class="verdict-line"><span id="verdict-mark" aria-hidden="true">–</span> <strong id="verdict-headline" aria-live="polite">Connecting…</strong></p>
  <ul id="verdict-why" hidden></ul>
  <div id="verdict-admitted" hidden>
    <table id="verdict-admitted-table"><caption>Admitted in the incident's scope</caption>
      <thead><tr><th scope="col">Route</th><th scope="col">Method</th><th scope="col">Tenant</th><th scope="col">Requests</th><th scope="col">Minutes (UTC)</th><th scope="col">Regions</th></tr></thead><tbody></tbody></table>
  </div>
  <div id="verdict-regions" hidden>
    <table id="verdict-regions-table"><caption>Regions that served traffic in scope</caption>
      <thead><tr><th scope="col">Region</th><th scope="col">Enforcement</th><th scope="col">Admitted (events)</th><th scope="col">What its isolates report</th></tr></thead><tbody></tbody></table>
  </div>
  <p class="hint">Measured against the incident's declared exposure scope, over the last complete minute and the current one; the kill switches' own scope does not count.</p>
</section>
<div class="split">
<section id="traffic" aria-labelledby="traffic-h">
  <h2 id="traffic-h">Requests per minute: admitted in scope, blocked, rate-limited</h2>
  <div id="chart" role="img" aria-labelledby="traffic-h" aria-describedby="chart-summary"></div>
  <ul id="chart-summary" class="summary"></ul>
  <details id="chart-data">
    <summary>Chart data as a table</summary>
    <div class="scroll" tabindex="0" role="region" aria-label="Chart data table"><table id="chart-table"><caption>Requests per minute by rule and outcome (UTC; the newest minute is partial)</caption><thead></thead><tbody></tbody></table></div>
  </details>
</section>
<section id="incident" aria-labelledby="incident-h">
  <h2 id="incident-h">Open incident</h2>
  <div id="incident-body"><p>No open incident.</p></div>
</section>
</div>
<section id="switches" aria-labelledby="switches-h">
  <h2 id="switches-h">Kill switches</h2>
  <p id="switches-source" class="hint"></p>
  <table id="switches-table"><caption class="sr">Kill switches in Edge Config</caption>
    <thead><tr><th scope="col">Switch</th><th scope="col">Blocks</th><th scope="col">Incident</th><th scope="col">Reason</th><th scope="col">Flipped by</th><th scope="col">Time left</th><th scope="col">State</th>${options.actions ? '<th scope="col">Actions</th>' : ""}</tr></thead>
    <tbody></tbody></table>
</section>
${options.actions ? ACTIONS_FORM : ""}
<div class="split">
<section id="regions" aria-labelledby="regions-h">
  <h2 id="regions-h">Enforcement by region</h2>
  <table id="regions-table"><caption class="sr">Ruleset digest each region enforces</caption>
    <thead><tr><th scope="col">Region</th><th scope="col">Ruleset digest</th><th scope="col">Isolates</th><th scope="col">Enforcing since</th><th scope="col">Last report</th><th scope="col">Switches enforced</th></tr></thead>
    <tbody></tbody></table>
</section>
<section id="quarantines" aria-labelledby="quarantines-h">
  <h2 id="quarantines-h">Quarantined identities</h2>
  <table id="quarantines-table"><caption class="sr">Identities blocked after repeated rate-limit trips</caption>
    <thead><tr><th scope="col">Dimension</th><th scope="col">Identity</th><th scope="col">Lifts in</th>${options.actions ? '<th scope="col">Actions</th>' : ""}</tr></thead>
    <tbody></tbody></table>
</section>
</div>
<section id="detections" aria-labelledby="detections-h">
  <h2 id="detections-h">Detections</h2>
  <p class="hint" id="detections-hint">What the edge's detectors tripped on, newest first. Release or approve one with <code>containment detections release|approve &lt;id&gt;</code> (audited).</p>
  <div class="scroll" tabindex="0" role="region" aria-labelledby="detections-h"><table id="detections-table"><caption class="sr">Detections, newest first</caption>
    <thead><tr><th scope="col">Detection</th><th scope="col">Tripped (UTC)</th><th scope="col">Detector</th><th scope="col">Route</th><th scope="col">Key (pseudonym)</th><th scope="col">Tenant</th><th scope="col">Counted</th><th scope="col">What it did</th><th scope="col">State</th></tr></thead>
    <tbody></tbody></table></div>
</section>
<section id="top" aria-labelledby="top-h">
  <h2 id="top-h">Most blocked</h2>
  <p class="hint" id="top-window"></p>
  <div class="cols">
    <table id="top-tenant"><caption>Tenants</caption><thead><tr><th scope="col">Tenant</th><th scope="col">Blocked</th></tr></thead><tbody></tbody></table>
    <table id="top-user"><caption>Users (pseudonyms)</caption><thead><tr><th scope="col">User</th><th scope="col">Blocked</th></tr></thead><tbody></tbody></table>
    <table id="top-ip"><caption>Networks</caption><thead><tr><th scope="col">Network</th><th scope="col">Blocked</th></tr></thead><tbody></tbody></table>
  </div>
</section>
<section id="events" aria-labelledby="events-h">
  <h2 id="events-h">Newest events</h2>
  <div class="scroll" tabindex="0" role="region" aria-labelledby="events-h"><table id="events-table"><caption class="sr">Newest mirrored decisions, newest first</caption>
    <thead><tr><th scope="col">Time (UTC)</th><th scope="col">Outcome</th><th scope="col">Rule</th><th scope="col">Status</th><th scope="col">Method</th><th scope="col">Path</th><th scope="col">Tenant</th><th scope="col">User</th><th scope="col">Network</th><th scope="col">Region</th></tr></thead>
    <tbody></tbody></table></div>
</section>
<section id="health" aria-labelledby="health-h">
  <h2 id="health-h">Evidence health</h2>
  <dl id="health-list"></dl>
  <h3 id="rejected-h">Rejected rules pushes</h3>
  <table id="rejected-table"><caption class="sr">Rules documents the edge refused</caption>
    <thead><tr><th scope="col">Time (UTC)</th><th scope="col">Region</th><th scope="col">Why</th></tr></thead><tbody></tbody></table>
  <h3 id="audit-h">Audit trail</h3>
  <table id="audit-table"><caption class="sr">Newest audit entries</caption>
    <thead><tr><th scope="col">Seq</th><th scope="col">Time (UTC)</th><th scope="col">Actor</th><th scope="col">Action</th><th scope="col">Phase</th><th scope="col">Incident</th></tr></thead><tbody></tbody></table>
</section>
</main>
</body>
</html>`;
}

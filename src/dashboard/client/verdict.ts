/**
 * The answer at the top of the page: has the leak stopped, everywhere? (src/dashboard/verdict.ts
 * computes it.) The state is said in words and by a symbol as well as by colour; the headline is a
 * polite live region, so a screen reader hears it when it changes, not on every refresh.
 */
import type { Snapshot, Verdict } from "../api.js";
import { $, el, fill, minuteLabel, row } from "./view.js";

const STATE = {
  contained: { word: "Contained", mark: "✓" },
  "not-contained": { word: "NOT contained", mark: "✕" },
  unknown: { word: "Unknown", mark: "?" },
} as const;

export function verdictPanel(snapshot: Snapshot): void {
  const section = $("verdict");
  const verdict = snapshot.verdict;
  const state = verdict?.state ?? "none";
  if (section.dataset.state !== state) section.dataset.state = state;
  const headline = $("verdict-headline");
  const text = verdict ? headlineText(verdict) : "No open incident: nothing to measure against.";
  if (headline.textContent !== text) headline.textContent = text;
  $("verdict-mark").textContent = verdict ? STATE[verdict.state].mark : "–";
  const why = $("verdict-why");
  // The headline says the first reason already: the list holds the others.
  const lines = verdict ? [...verdict.reasons, ...verdict.notes].filter((line) => !text.includes(line)) : [];
  const key = lines.join("\n");
  if (why.dataset.key !== key) {
    why.dataset.key = key;
    why.replaceChildren(...lines.map((line) => el("li", line)));
    why.hidden = lines.length === 0;
  }
  admittedTable(verdict);
  regionsList(verdict);
}

function headlineText(verdict: Verdict): string {
  const word = STATE[verdict.state].word;
  return verdict.headline.startsWith(word) ? verdict.headline : `${word}: ${verdict.headline}`;
}

function admittedTable(verdict: Verdict | null): void {
  const wrap = $("verdict-admitted");
  const admitted = verdict?.admitted ?? [];
  wrap.hidden = admitted.length === 0;
  fill(
    "verdict-admitted-table",
    admitted.map((a) =>
      row([
        a.route,
        a.method,
        a.tenant,
        a.n,
        a.minutes.map(minuteLabel).join(", "),
        a.regions.length > 0 ? a.regions.join(", ") : "not in the sampled events",
      ]),
    ),
    "None.",
  );
}

function regionsList(verdict: Verdict | null): void {
  const regions = verdict?.regions ?? [];
  $("verdict-regions").hidden = regions.length === 0;
  fill(
    "verdict-regions-table",
    regions.map((r) =>
      row([r.region, r.confirmed ? "✓ confirmed" : "? not confirmed", r.admitted, r.detail], 1),
    ),
    "No region served traffic in scope.",
  );
}

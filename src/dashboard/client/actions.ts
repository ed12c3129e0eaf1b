/**
 * Acting from the page (local dashboard only): kill, lift, extend, quarantine release through the
 * server's ops actions, each confirmed in a native <dialog> (focus starts in it and returns to the
 * control that opened it). POST only, same origin, with the session's CSRF token.
 */
import type { SwitchEntry } from "../api.js";
import { $, api, CSRF, el, scopeOf } from "./view.js";

let refresh: () => Promise<void> = async () => {};

/** What runs after an action, so the page shows its effect at once (set by app.ts). */
export function afterActions(fn: () => Promise<void>): void {
  refresh = fn;
}

interface ActionAnswer {
  ok?: boolean;
  summary?: string;
  error?: { code: string; message: string };
}

async function post(
  action: string,
  body: Record<string, unknown>,
): Promise<ActionAnswer & { status: number }> {
  const response = await fetch(api(`actions/${action}`), {
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
  await refresh();
  return answer;
}

const list = (value: string): string[] | undefined => {
  const items = value
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  return items.length === 0 ? undefined : items;
};

export async function onKillSubmit(event: Event): Promise<void> {
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

export async function liftDialog(s: SwitchEntry, opener: HTMLElement): Promise<void> {
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

export async function extendDialog(s: SwitchEntry, opener: HTMLElement): Promise<void> {
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

export async function releaseDialog(dimension: string, id: string, opener: HTMLElement): Promise<void> {
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

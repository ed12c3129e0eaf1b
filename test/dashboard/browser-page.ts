/**
 * What the browser test asks of the page: table cells, keyboard walks that check the focus ring at
 * every step, and waits on text (conditions, never sleeps).
 */
import type { Page } from "playwright-core";
import { expect } from "vitest";

export const cellTexts = (page: Page, selector: string): Promise<string[][]> =>
  page.$$eval(`${selector} tbody tr`, (rows) =>
    rows.map((row) => [...row.querySelectorAll("th, td")].map((cell) => (cell.textContent ?? "").trim())),
  );

/** Presses Tab until `selector` has focus, checking at every step that the focused element shows a focus ring. */
export async function tabTo(page: Page, selector: string, max = 120): Promise<void> {
  for (let i = 0; i < max; i++) {
    await page.keyboard.press("Tab");
    const state = await page.evaluate((target) => {
      const el = document.activeElement as HTMLElement | null;
      if (!el || el === document.body) return { done: false, visible: true, what: "body" };
      const style = getComputedStyle(el);
      const visible = style.outlineStyle !== "none" && Number.parseFloat(style.outlineWidth) >= 2;
      return { done: el.matches(target), visible, what: el.outerHTML.slice(0, 80) };
    }, selector);
    expect(state.visible, `focus ring on ${state.what}`).toBe(true);
    if (state.done) return;
  }
  throw new Error(`${selector} never got the focus by Tab`);
}

export async function focusedMatches(page: Page, selector: string): Promise<boolean> {
  return page.evaluate((s) => document.activeElement?.matches(s) ?? false, selector);
}

export async function waitForText(
  page: Page,
  selector: string,
  pattern: RegExp,
  timeout = 15_000,
): Promise<void> {
  await page.waitForFunction(
    ([s, source]) =>
      new RegExp(source as string).test(document.querySelector(s as string)?.textContent ?? ""),
    [selector, pattern.source],
    { timeout },
  );
}

/**
 * docs/contracts.md names every key of the mirror's layout and prints the Redis ACL users exactly as
 * `containment doctor --print-acl` does: a key or a permission added in code without the page fails here.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { aclCommands } from "../../src/ops/redis-acl.js";
import { DETECT_KEYS } from "../../src/rules/detector/keys.js";
import { MIRROR_KEYS } from "../../src/stores/mirror/layout.js";

const page = readFileSync(new URL("../../docs/contracts.md", import.meta.url), "utf8").replaceAll("\\|", "|");

/** How the page writes each key that takes arguments. */
const PLACEHOLDERS: Record<string, string[]> = {
  counts: ["<minute>"],
  shapes: ["<minute>"],
  traffic: ["<minute>"],
  top: ["<minute>", "<tenant|user|ip>"],
  isolate: ["<region>:<isolate>"],
  batch: ["<region>:<isolate>", "<n>"],
};

describe("docs/contracts.md", () => {
  it("names every key of the mirror's layout (src/stores/mirror/layout.ts)", () => {
    const names = Object.entries(MIRROR_KEYS)
      .filter(([name]) => name !== "quarantinePattern")
      .map(([name, key]) => {
        if (typeof key === "string") return key;
        const args = PLACEHOLDERS[name];
        expect(
          args,
          `MIRROR_KEYS.${name}: add how docs/contracts.md writes it to PLACEHOLDERS`,
        ).toBeDefined();
        return (key as (...a: string[]) => string)(...(args ?? []));
      });
    for (const name of names) expect(page, name).toContain(`\`${name}\``);
  });

  it("names every key detectors write (src/rules/detector/keys.ts)", () => {
    const args: Record<string, string[]> = {
      counter: ["<detector>", "<key>", "<window>"],
      epoch: ["<detector>", "<specDigest>"],
      spike: ["<detector>", "<specDigest>"],
      baseline: ["<detector>", "<key>"],
      budget: ["<detector>", "<keyClass>", "<window>"],
      detection: ["<id>"],
    };
    for (const [name, key] of Object.entries(DETECT_KEYS)) {
      const text = typeof key === "string" ? key : (key as (...a: string[]) => string)(...(args[name] ?? []));
      expect(page, name).toContain(`\`${text}\``);
    }
  });

  it("prints the ACL users as containment doctor --print-acl does (default prefix)", () => {
    const passwords = {
      edge: "<edge-password>",
      responder: "<responder-password>",
      reader: "<reader-password>",
    };
    for (const line of aclCommands("containment:", passwords)) expect(page).toContain(line);
  });
});

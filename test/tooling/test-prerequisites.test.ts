/**
 * The pretest's decision (scripts/prerequisites-plan.ts) and the program lookup it shares with the
 * tests (test/support/programs.ts), on machines described in the test: no apt-get runs here.
 */
import { describe, expect, it } from "vitest";
import { type MachineState, planPrerequisites } from "../../scripts/prerequisites-plan.js";
import { locateProgram, PROGRAMS, type ProgramName, programNamed } from "../support/programs.js";

const LOCK = "a".repeat(64);

const INTL_LOCK = "c".repeat(64);

/**
 * A machine with every program on /usr/bin and both examples installed, less what `overrides`
 * changes (`exampleInstalledHash`: what examples/next-app was installed from).
 */
function machine(
  overrides: Partial<MachineState> & {
    missing?: ProgramName[];
    exampleInstalledHash?: string | undefined;
  } = {},
): MachineState {
  const { missing = [], exampleInstalledHash, ...rest } = overrides;
  const installedHash = "exampleInstalledHash" in overrides ? exampleInstalledHash : LOCK;
  return {
    programs: PROGRAMS.map((program) => ({
      program,
      path: missing.includes(program.name) ? undefined : `/usr/bin/${program.name}`,
    })),
    env: { PATH: "/usr/local/bin:/usr/bin" },
    root: true,
    apt: true,
    examples: [
      { dir: "examples/next-app", lockHash: LOCK, installedHash },
      { dir: "examples/next-intl-app", lockHash: INTL_LOCK, installedHash: INTL_LOCK },
    ],
    ...rest,
  };
}

describe("the pretest's plan", () => {
  it("does nothing when every program is there and the example was installed from this lock file", () => {
    expect(planPrerequisites(machine())).toEqual({ kind: "run", steps: [] });
  });

  it("installs the missing programs' Debian packages with one apt-get, as root on Debian", () => {
    expect(planPrerequisites(machine({ missing: ["chromium", "ps"] }))).toEqual({
      kind: "run",
      steps: [{ kind: "apt-get", packages: ["chromium", "procps"] }],
    });
  });

  it("runs npm ci in the example when it was never installed, or from another lock file", () => {
    const step = { kind: "example-app", dir: "examples/next-app", lockHash: LOCK };
    expect(planPrerequisites(machine({ exampleInstalledHash: undefined }))).toEqual({
      kind: "run",
      steps: [step],
    });
    expect(planPrerequisites(machine({ exampleInstalledHash: "b".repeat(64) }))).toEqual({
      kind: "run",
      steps: [step],
    });
  });

  it("runs npm ci in each example app whose lock file changed, and only there", () => {
    const base = machine();
    const plan = planPrerequisites({
      ...base,
      examples: base.examples.map((example) =>
        example.dir === "examples/next-intl-app" ? { ...example, installedHash: undefined } : example,
      ),
    });
    expect(plan).toEqual({
      kind: "run",
      steps: [{ kind: "example-app", dir: "examples/next-intl-app", lockHash: INTL_LOCK }],
    });
  });

  it("installs programs before the example, so a stop comes before the long npm ci", () => {
    const plan = planPrerequisites(machine({ missing: ["redis-server"], exampleInstalledHash: undefined }));
    expect(plan.kind === "run" && plan.steps.map((step) => step.kind)).toEqual(["apt-get", "example-app"]);
  });

  it("stops with one line naming what to install when not root", () => {
    const plan = planPrerequisites(machine({ missing: ["redis-server", "tmux"], root: false }));
    expect(plan).toEqual({
      kind: "stop",
      line:
        "test prerequisites: missing redis-server, tmux: install them (Debian: apt-get install -y redis-server tmux); " +
        "npm test does that itself only as root on Debian (not root)",
    });
  });

  it("stops with one line on a machine without apt-get, even as root, and plans no npm ci", () => {
    const plan = planPrerequisites(
      machine({ missing: ["chromium"], apt: false, exampleInstalledHash: undefined }),
    );
    expect(plan.kind).toBe("stop");
    expect(plan.kind === "stop" && plan.line).toBe(
      "test prerequisites: missing chromium: install it (Debian: apt-get install -y chromium); " +
        "npm test does that itself only as root on Debian (no apt-get here)",
    );
  });

  it("stops on a variable that points at nothing instead of installing a copy the tests would not use", () => {
    const plan = planPrerequisites(machine({ missing: ["chromium"], env: { CHROMIUM_BIN: "/opt/chrome" } }));
    expect(plan).toEqual({
      kind: "stop",
      line: "test prerequisites: CHROMIUM_BIN=/opt/chrome is not an executable file: point it at chromium or unset it",
    });
  });

  it("stops after apt-get when a program is still not found, naming the PATH searched", () => {
    const plan = planPrerequisites(machine({ missing: ["chromium"], env: { PATH: "/tmp/bin" } }), {
      afterApt: true,
    });
    expect(plan).toEqual({
      kind: "stop",
      line: "test prerequisites: apt-get installed chromium, yet chromium is still not on PATH (/tmp/bin)",
    });
  });

  it("says everything in one line", () => {
    const plan = planPrerequisites(
      machine({ missing: ["chromium", "tmux"], root: false, env: { CHROMIUM_BIN: "/x" } }),
    );
    expect(plan.kind === "stop" && plan.line.split("\n")).toHaveLength(1);
  });
});

describe("finding a program", () => {
  const chromium = programNamed("chromium");
  const on =
    (...paths: string[]) =>
    (path: string) =>
      paths.includes(path);

  it("takes the first executable of its name on PATH", () => {
    const lookup = { env: { PATH: "/a:/b:/c" }, isExecutable: on("/b/chromium", "/c/chromium") };
    expect(locateProgram(chromium, lookup)).toBe("/b/chromium");
  });

  it("takes its variable over PATH, and is missing when the variable points at nothing", () => {
    const env = { PATH: "/usr/bin", CHROMIUM_BIN: "/opt/chrome" };
    expect(locateProgram(chromium, { env, isExecutable: on("/opt/chrome", "/usr/bin/chromium") })).toBe(
      "/opt/chrome",
    );
    expect(locateProgram(chromium, { env, isExecutable: on("/usr/bin/chromium") })).toBeUndefined();
  });

  it("is missing when PATH has no such executable", () => {
    expect(
      locateProgram(programNamed("tmux"), { env: { PATH: "/usr/bin" }, isExecutable: on() }),
    ).toBeUndefined();
  });
});

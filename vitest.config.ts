import { configDefaults, defineConfig } from "vitest/config";

/**
 * Two projects. The example-app files (test/next-app/) share one resource, the example app itself
 * (`npm pack` into it, `next build` into its .next, `next start` from it), so they run one file at a
 * time; everything else runs in parallel beside them.
 */
export default defineConfig({
  test: {
    // Integration tests start redis-server, HTTP stand-ins and workerd; give them room on 2 cores.
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: "forks",
    // CI also writes a JSON report, which .ci/summary.mjs turns into a plain "N passed" line.
    reporters: process.env.CI
      ? ["default", ["json", { outputFile: ".tmp/vitest-report.json" }]]
      : ["default"],
    projects: [
      {
        extends: true,
        test: {
          name: "suite",
          include: ["test/**/*.test.ts"],
          exclude: [...configDefaults.exclude, "test/next-app/**"],
          maxWorkers: 2,
        },
      },
      {
        extends: true,
        test: { name: "next-app", include: ["test/next-app/**/*.test.ts"], fileParallelism: false },
      },
    ],
  },
});

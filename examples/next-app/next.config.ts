import { withContainment } from "edge-containment/next";
import type { NextConfig } from "next";

// withContainment hands basePath and the rewrite table to the firewall at build time: Next runs
// middleware before rewrites, so a rule on /api/patients/:id/export must also see /legacy/... .
const nextConfig: NextConfig = {
  basePath: "/portal",
  // For the tests (a --webpack build beside the Turbopack one, a copy for proxy.ts); not needed in yours:
  distDir: process.env.EXAMPLE_DIST_DIR ?? ".next",
  turbopack: { root: import.meta.dirname },
  outputFileTracingRoot: import.meta.dirname,
  async rewrites() {
    return {
      beforeFiles: [{ source: "/legacy/export/:id", destination: "/api/patients/:id/export" }],
      afterFiles: [
        { source: "/v1/patients/:id/export", destination: "/api/patients/:id/export" },
        {
          source: "/download/:id",
          has: [{ type: "query", key: "format", value: "csv" }],
          destination: "/api/patients/:id/export",
        },
      ],
      fallback: [{ source: "/old/:path*", destination: "/api/:path*" }],
    };
  },
};

export default withContainment(nextConfig);

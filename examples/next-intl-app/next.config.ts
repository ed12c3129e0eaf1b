// next.config.ts: next-intl's plugin, then the firewall's wrapper. No locales given: a rule written
// without a locale covers every locale prefix on its own.
import { withContainment } from "edge-containment/next";
import createNextIntlPlugin from "next-intl/plugin";

export default withContainment(
  createNextIntlPlugin()({
    // For the tests (built inside this repository); not needed in yours:
    turbopack: { root: import.meta.dirname },
    outputFileTracingRoot: import.meta.dirname,
  }),
);

import { defineRouting } from "next-intl/routing";

// English unprefixed (/account), German and French under their prefix (/de/account).
export const routing = defineRouting({
  locales: ["en", "de", "fr"],
  defaultLocale: "en",
  localePrefix: "as-needed",
});

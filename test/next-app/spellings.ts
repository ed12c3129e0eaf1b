/**
 * Spellings of the protected export route `/api/patients/1/export` under the app's basePath
 * `/portal`, sent raw to the real Next.js router. Each is a leak exactly when the export
 * handler's canary answers; the firewall may block it, or Next may route it nowhere (404), or
 * redirect it to a spelling the firewall then blocks.
 */
const BASE = "/portal";
const ROUTE = "/api/patients/1/export";

/** Encodings and separators of the route itself. */
const FORMS = [
  ROUTE,
  `${ROUTE}/`,
  `${ROUTE}?download=1`,
  `${ROUTE}#x`,
  "/api/patients/1/EXPORT",
  "/API/Patients/1/Export",
  "/api/patients/1/%65xport",
  "/api/patients/1/%45XPORT",
  "/api/%70atients/1/export",
  "/api/patients/1/export%2f",
  "/api/patients/1%2fexport",
  "/api/patients/1%2Fexport",
  "/api/patients/1/./export",
  "/api/patients/1/%2e/export",
  "/api/patients/x/../1/export",
  "/api/patients/x/%2e%2e/1/export",
  "/api/patients/x/%2E%2E/1/export",
  "//api/patients/1/export",
  "/api//patients/1/export",
  "/api/patients//1/export",
  "/api/patients/1//export",
  "/api/patients/1/export;x=1",
  "/api/patients/1;x/export",
  "/api/patients/1/export.",
  "/api/patients/1/export..",
  "/api/patients/1./export",
  "/api/patients/1/export%20",
  "/api/patients/%31/export",
  "/api/patients/1/export.rsc",
  "/api/patients/1/export.prefetch.rsc",
  "/api/patients/1/export.segments/_index.segment.rsc",
  "/api\\patients\\1\\export",
  "/api/patients/1/export%5c",
  "/api%2fpatients%2f1%2fexport",
  "/api/patients/1/export%3f",
  "/api/patients/1/export%23",
  "/api/patients/1/export%09",
  "/api/patients/1/e%78port",
  "/api/patients/1/%2565xport",
];

/** Rewrites in next.config and the app's own middleware rewrite (through `compose`). */
export const REWRITE_SPELLINGS = [
  `${BASE}/legacy/export/1`,
  `${BASE}/LEGACY/export/1`,
  `${BASE}/legacy/%65xport/1`,
  `${BASE}/v1/patients/1/export`,
  `${BASE}/download/1?format=csv`,
  `${BASE}/old/patients/1/export`,
  `${BASE}/go/export/1`,
];

/** Other ways to name the base path itself. */
const BASES = [BASE, "/PORTAL", "/%70ortal", "/portal/", "//portal", "/portal/."];

export const ROUTE_SPELLINGS: readonly string[] = [
  ...FORMS.map((form) => `${BASE}${form}`),
  ...BASES.filter((base) => base !== BASE).map((base) => `${base}${ROUTE}`),
  `/_next/data/x${BASE}${ROUTE}.json`,
  `${BASE}/_next/data/x${ROUTE}.json`,
];

export const METHODS = ["GET", "POST", "HEAD", "OPTIONS"] as const;

/** Same shape, not blocked: these must pass the firewall. */
export const BENIGN_TWINS = [
  `${BASE}/api/patients/1`,
  `${BASE}/api/patients/1/`,
  `${BASE}/`,
  `${BASE}/orgs/acme`,
  `${BASE}/notes`,
  `${BASE}/download/1?format=pdf`,
  `${BASE}/legacy/export`,
];

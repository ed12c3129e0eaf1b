/**
 * The corpus variant of examples/next-app: the example's own middleware.ts, next.config.ts (with the
 * corpus's basePath `/docs`) and routes, plus a canary handler on every route a corpus rule protects
 * and a catch-all for the rest. Each handler names itself (`x-canary` header, `canary:<id>` in the
 * body, so a page's RSC payload names it too): a blocked spelling leaks exactly when a protected
 * handler's name comes back.
 */
import { dirname, relative } from "node:path";

const METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];

function route(file: string, id: string): string {
  const from = relative(dirname(file), "app/_corpus/canary");
  return [
    `import { canary } from ${JSON.stringify(from.startsWith(".") ? from : `./${from}`)};`,
    'export const dynamic = "force-dynamic";',
    `const answer = canary(${JSON.stringify(id)});`,
    ...METHODS.map((method) => `export const ${method} = answer;`),
    "",
  ].join("\n");
}

function page(id: string): string {
  return [
    'export const dynamic = "force-dynamic";',
    `export default function Page() { return <main>canary:${id}</main>; }`,
    "",
  ].join("\n");
}

/** Handlers of routes no corpus rule protects: reaching them is never a leak. */
export const OTHER = "other";
export const UNPROTECTED = new Set([OTHER, "public", "dashboard", "profile"]);

const ROUTES: Array<[string, string]> = [
  ["app/api/records/[id]/route.ts", "records"],
  ["app/reports/[id]/route.ts", "reports"],
  ["app/admin/[[...rest]]/route.ts", "admin"],
  ["app/s/[tenant]/files/route.ts", "s-files"],
  ["app/t/[tenant]/[...rest]/route.ts", "t"],
  ["app/v2/[tenant]/[...rest]/route.ts", "v2"],
  ["app/rl/[tenant]/export/route.ts", "rl"],
  ["app/public/[[...rest]]/route.ts", "public"],
  ["app/[...rest]/route.ts", OTHER],
];

const PAGES: Array<[string, string]> = [
  ["app/dashboard/page.tsx", "dashboard"],
  ["app/dashboard/export/page.tsx", "dashboard-export"],
  ["app/settings/billing/page.tsx", "billing"],
  ["app/settings/profile/page.tsx", "profile"],
];

export const CORPUS_FILES: Record<string, string> = {
  // Route handlers also say what reached them (headers, query), so an attack whose extra input the
  // server dropped before the app (a second Authorization header, a stripped internal header; values arrive trimmed) is told
  // apart from one the app received.
  "app/_corpus/canary.ts": [
    "export function canary(id: string) {",
    "  return (request: Request) => {",
    "    const saw = { headers: Object.fromEntries(request.headers), search: new URL(request.url).search };",
    '    const body = "canary:" + id + "\\n" + JSON.stringify(saw);',
    '    return new Response(body, { headers: { "x-canary": id, "cache-control": "no-store" } });',
    "  };",
    "}",
    "",
  ].join("\n"),
  ...Object.fromEntries(ROUTES.map(([file, id]) => [file, route(file, id)])),
  ...Object.fromEntries(PAGES.map(([file, id]) => [file, page(id)])),
};

/** The example's app under the corpus's basePath, so `/docs/...` cases mean what they say. */
export function corpusConfig(text: string): string {
  if (!text.includes('basePath: "/portal"'))
    throw new Error("next.config.ts no longer sets basePath /portal");
  return text.replace('basePath: "/portal"', 'basePath: "/docs"');
}

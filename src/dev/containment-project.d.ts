/** The user's middleware.ts / proxy.ts, as bundle.ts's `bundleProject` resolves it (dev only). */
declare module "containment:project" {
  const handler: unknown;
  export default handler;
  export const middleware: unknown;
  export const proxy: unknown;
}

/** Builds what the project's middleware receives: a `NextRequest` in a Next.js project. */
declare module "containment:request" {
  export function toPlatformRequest(request: Request): Request;
  /** The upstream is the project's `next dev` / `next start`, which runs its middleware again. */
  export const upstreamRunsMiddleware: boolean;
}

/**
 * "Continue to the origin, adding these response headers". Vercel Routing Middleware and Next.js
 * middleware both read the `x-middleware-next` header (what `next()` from `@vercel/functions` and
 * `NextResponse.next()` return); other headers on this response are added to the final response.
 * Written here so the middleware bundle needs neither package.
 */
export function passThrough(headers: Readonly<Record<string, string>>): Response {
  const all = new Headers(headers);
  all.set("x-middleware-next", "1");
  return new Response(null, { headers: all });
}

// A record. The `headers` rule adds cache-control: private, no-store on the way out; next-intl
// never sees /api (except in proxy.ts), so this answers under its own path.
export const dynamic = "force-dynamic";

export async function GET(_request: Request, { params }: { params: Promise<{ id: string }> }) {
  const { id } = await params;
  return Response.json({ record: id }, { headers: { "x-canary": "record" } });
}

// Tenant-scoped API: tenant binding admits only a token whose org_id claim is this tenant.
export const dynamic = "force-dynamic";

export async function GET(_request: Request, { params }: { params: Promise<{ tenant: string }> }) {
  const { tenant } = await params;
  return Response.json({ tenant, records: [] }, { headers: { "x-canary": "tenant-records" } });
}

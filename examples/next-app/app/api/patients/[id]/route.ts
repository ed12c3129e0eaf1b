// A patient record. The `headers` rule adds cache-control: private, no-store on the way out.
export const dynamic = "force-dynamic";

export async function GET(_request: Request, { params }: { params: Promise<{ id: string }> }) {
  const { id } = await params;
  return Response.json({ patient: id, name: "Test Patient" }, { headers: { "x-canary": "patient" } });
}

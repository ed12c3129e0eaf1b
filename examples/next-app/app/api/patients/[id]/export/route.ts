// The canary of the protected route: while the kill switch is on, the firewall must answer instead.
// The tests count a spelling as a leak exactly when this handler answers.
export const dynamic = "force-dynamic";

function canary(id: string): Response {
  return Response.json({ export: id, rows: [] }, { headers: { "x-canary": "patient-export" } });
}

export async function GET(_request: Request, { params }: { params: Promise<{ id: string }> }) {
  return canary((await params).id);
}

export async function POST(_request: Request, { params }: { params: Promise<{ id: string }> }) {
  return canary((await params).id);
}

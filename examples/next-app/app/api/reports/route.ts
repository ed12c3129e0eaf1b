// Rate-limited (see containment.rules.json): the firewall admits `limit` requests a window.
export const dynamic = "force-dynamic";

export async function GET() {
  return Response.json({ report: "weekly" }, { headers: { "x-canary": "reports" } });
}

export const dynamic = "force-dynamic";

export default async function Workspace({ params }: { params: Promise<{ tenant: string }> }) {
  const { tenant } = await params;
  return (
    <main>
      <h1>Workspace {tenant}</h1>
      <p data-canary="tenant-page">Tenant-scoped page.</p>
    </main>
  );
}

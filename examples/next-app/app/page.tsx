import Link from "next/link";

export default function Home() {
  return (
    <main>
      <h1>Patient portal (edge-containment example)</h1>
      <ul>
        <li>
          <Link href="/api/patients/1">a patient record</Link> (route handler;{" "}
          <code>cache-control: private, no-store</code>)
        </li>
        <li>
          <Link href="/api/patients/1/export">an export</Link> (blocked while a kill switch is on)
        </li>
        <li>
          <Link href="/orgs/acme">the acme workspace</Link> (tenant-scoped page)
        </li>
        <li>
          <Link href="/notes">notes</Link> (a server action)
        </li>
        <li>
          <a href="/portal/containment/">the containment dashboard</a> (read-only, behind a bearer token)
        </li>
      </ul>
    </main>
  );
}

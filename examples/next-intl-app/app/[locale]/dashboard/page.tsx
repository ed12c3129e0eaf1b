// Behind Auth.js: proxy.ts redirects to /login without a session.
import { getTranslations } from "next-intl/server";
import { auth } from "../../../auth";

export const dynamic = "force-dynamic";

export default async function Dashboard() {
  const session = await auth();
  const t = await getTranslations("Dashboard");
  return (
    <main>
      <h1>{t("title")}</h1>
      <p data-canary="dashboard">signed in as {session?.user?.name ?? "nobody"}</p>
    </main>
  );
}

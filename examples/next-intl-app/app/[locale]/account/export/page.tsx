// The page a kill switch freezes in the tests; its canary is what a leak would show.
import { getTranslations } from "next-intl/server";

export const dynamic = "force-dynamic";

export default async function AccountExport() {
  const t = await getTranslations("Export");
  return (
    <main>
      <h1>{t("title")}</h1>
      <p>CANARY-account-export</p>
    </main>
  );
}

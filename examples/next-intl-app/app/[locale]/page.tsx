import { getTranslations } from "next-intl/server";

export default async function Home() {
  const t = await getTranslations("Home");
  return (
    <main>
      <h1>{t("title")}</h1>
      <p data-canary="home">
        The account export is at /account/export (/de/account/export, /fr/account/export).
      </p>
    </main>
  );
}

import { getTranslations } from "next-intl/server";

// Sign-in posts name=demo and Auth.js's CSRF token to /api/auth/callback/credentials (the tests do
// it by hand; an app would use Auth.js's signIn()).
export default async function Login() {
  const t = await getTranslations("Login");
  return (
    <main>
      <h1>{t("title")}</h1>
    </main>
  );
}

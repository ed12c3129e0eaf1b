// Auth.js v5 with a Credentials provider that needs no network: the name "demo" signs in.
// AUTH_SECRET comes from the environment; trustHost because the app is served outside Vercel.
import NextAuth from "next-auth";
import Credentials from "next-auth/providers/credentials";

export const { handlers, auth } = NextAuth({
  providers: [
    Credentials({
      credentials: { name: { label: "Name" } },
      authorize: (credentials) => (credentials?.name === "demo" ? { id: "1", name: "demo" } : null),
    }),
  ],
  pages: { signIn: "/login" },
  trustHost: true,
});

export const dynamic = "force-dynamic";

export default function Account() {
  return <p data-canary="account">account overview</p>;
}

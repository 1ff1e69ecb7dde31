// Development sign-in: the API lists its demo accounts with tokens at /dev/accounts only
// when ENVIRONMENT=development. In production that route does not exist, and all this page
// offers is to paste a token issued by the real identity provider.
import { useEffect, useState } from "react";

type DemoAccount = { role: string; displayName: string; timezone: string; token: string };

export function SignIn(props: { onSignIn: (token: string) => void }) {
  const [accounts, setAccounts] = useState<DemoAccount[] | null | undefined>(undefined);
  const [token, setToken] = useState("");
  useEffect(() => {
    let live = true;
    fetch("/dev/accounts", { headers: { accept: "application/json" } })
      .then(async (r) => (r.ok ? ((await r.json()) as { accounts: DemoAccount[] }).accounts : null))
      .catch(() => null)
      .then((list) => { if (live) setAccounts(list); });
    return () => { live = false; };
  }, []);
  return (
    <main className="signin">
      <h1>Meetings — sign in</h1>
      {accounts === undefined && <p>Looking for development accounts…</p>}
      {accounts && (
        <section aria-labelledby="demo-title" data-testid="demo-accounts">
          <h2 id="demo-title">Demo accounts (development only)</h2>
          <ul className="plain">
            {accounts.map((a) => (
              <li key={a.token}>
                <button type="button" onClick={() => props.onSignIn(a.token)}>
                  Sign in as {a.displayName} ({a.role})
                </button>{" "}
                <span className="muted">{a.timezone}</span>
              </li>
            ))}
          </ul>
        </section>
      )}
      {accounts === null && (
        <p data-testid="no-demo-accounts">This server offers no demo accounts: paste a token.</p>
      )}
      <form onSubmit={(e) => { e.preventDefault(); if (token.trim()) props.onSignIn(token.trim()); }}>
        <label htmlFor="token">Bearer token (JWT)</label>
        <textarea id="token" rows={3} value={token} onChange={(e) => setToken(e.target.value)} />
        <button type="submit">Sign in with token</button>
      </form>
    </main>
  );
}

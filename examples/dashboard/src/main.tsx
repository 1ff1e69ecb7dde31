import { ApolloProvider } from "@apollo/client/react";
import { StrictMode, useEffect, useMemo, useState } from "react";
import { createRoot } from "react-dom/client";
import { BrowserRouter } from "react-router";

import { makeClient } from "./apollo";
import { App } from "./App";
import { SignIn } from "./screens/SignIn";
import { SignOut, storedToken, storeToken } from "./session";
import "./styles.css";

function Root() {
  const [token, setToken] = useState<string | null>(storedToken());
  const session = useMemo(() => (token ? makeClient(token) : null), [token]);
  useEffect(() => () => session?.close(), [session]);
  const signIn = (value: string) => { storeToken(value); setToken(value); };
  const signOut = () => { storeToken(null); setToken(null); };
  if (!session) return <SignIn onSignIn={signIn} />;
  return (
    <ApolloProvider client={session.client}>
      <SignOut.Provider value={signOut}>
        <BrowserRouter>
          <App />
        </BrowserRouter>
      </SignOut.Provider>
    </ApolloProvider>
  );
}

createRoot(document.getElementById("root")!).render(
  <StrictMode>
    <Root />
  </StrictMode>,
);

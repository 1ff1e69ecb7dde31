// The signed-in token (kept per browser tab) and the viewer it belongs to.
import { useQuery } from "@apollo/client/react";
import { createContext, useContext } from "react";

import { VIEWER } from "./operations";

const KEY = "meetings.token";

export function storedToken(): string | null {
  return sessionStorage.getItem(KEY);
}

export function storeToken(token: string | null): void {
  if (token) sessionStorage.setItem(KEY, token);
  else sessionStorage.removeItem(KEY);
}

export const SignOut = createContext<() => void>(() => {});

export function useSignOut(): () => void {
  return useContext(SignOut);
}

/** The viewer (name, zone, credits, expert profile); `zone` is where times are shown. */
export function useViewer() {
  const { data, loading, error } = useQuery(VIEWER);
  const viewer = data?.viewer;
  return { viewer, zone: viewer?.account.timezone ?? "UTC", loading, error };
}

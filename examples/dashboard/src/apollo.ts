// One Apollo Client per signed-in token: HTTP for queries and mutations, graphql-ws for
// subscriptions (the token goes in connection_init: browsers cannot set WebSocket headers).
import { ApolloClient, ApolloLink, HttpLink, InMemoryCache } from "@apollo/client";
import { PersistedQueryLink } from "@apollo/client/link/persisted-queries";
import { GraphQLWsLink } from "@apollo/client/link/subscriptions";
import { getMainDefinition, relayStylePagination } from "@apollo/client/utilities";
import { Kind, OperationTypeNode } from "graphql";
import { createClient } from "graphql-ws";

import manifest from "./gql/persisted-documents.json";

// Trusted documents: `npm run codegen` writes the manifest of this build's operations
// (SHA-256 → text); a server started with TRUSTED_DOCUMENTS=<that file> runs them from the
// hash alone (and with TRUSTED_DOCUMENTS_ONLY=true nothing else). Over HTTP the client sends
// only the hash (Apollo's persistedQuery extension), queries by GET, cacheable by URL.
const HASHES = new Map<string, string>();
for (const [id, text] of Object.entries(manifest as Record<string, string>)) {
  const name = /\b(?:query|mutation|subscription)\s+(\w+)/.exec(text)?.[1];
  if (name) HASHES.set(name, id.replace(/^sha256:/, ""));
}

function trustedHash(document: Parameters<typeof getMainDefinition>[0]): string {
  const definition = getMainDefinition(document);
  const name = definition.kind === Kind.OPERATION_DEFINITION ? definition.name?.value : undefined;
  const hash = name ? HASHES.get(name) : undefined;
  if (!hash) throw new Error(`${name ?? "an anonymous operation"} is not a trusted document`);
  return hash;
}

export function makeCache(): InMemoryCache {
  return new InMemoryCache({
    typePolicies: {
      Query: {
        fields: {
          meetings: relayStylePagination(["role", "upcoming", "status"]),
          notifications: relayStylePagination(["unreadOnly"]),
        },
      },
      Conversation: { fields: { messages: relayStylePagination() } },
      // The viewer is a singleton: every `viewer { credits }` in a payload or a live event
      // lands on the same cache entry, so the balance in the header follows by itself.
      Viewer: { keyFields: [] },
      Account: { fields: { expertProfile: { merge: true } } },
      ExpertProfile: { fields: { availability: { merge: true } } },
    },
  });
}

export function makeClient(token: string): { client: ApolloClient; close: () => void } {
  const wsUrl = `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/graphql`;
  let reconnect = false;
  let client: ApolloClient | undefined;
  const ws = createClient({
    url: wsUrl,
    connectionParams: () => ({ authorization: `Bearer ${token}` }),
    retryAttempts: Infinity,
    shouldRetry: () => true,
    on: {
      // Delivery is at least once to connected clients: after a reconnect, re-read what is
      // on screen, then rely on the subscriptions again (docs/live-updates.md).
      connected: () => {
        if (reconnect) void client?.refetchQueries({ include: "active" });
        reconnect = true;
      },
    },
  });
  const http = new HttpLink({ uri: "/graphql", headers: { authorization: `Bearer ${token}` } });
  const link = ApolloLink.split(
    ({ query }) => {
      const definition = getMainDefinition(query);
      return definition.kind === Kind.OPERATION_DEFINITION
        && definition.operation === OperationTypeNode.SUBSCRIPTION;
    },
    new GraphQLWsLink(ws),
    new PersistedQueryLink({ generateHash: trustedHash, useGETForHashedQueries: true }).concat(http),
  );
  client = new ApolloClient({ link, cache: makeCache() });
  return { client, close: () => { void ws.dispose(); client?.stop(); } };
}

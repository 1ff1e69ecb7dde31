// One Apollo Client per signed-in token: HTTP for queries and mutations, graphql-ws for
// subscriptions (the token goes in connection_init: browsers cannot set WebSocket headers).
import { ApolloClient, ApolloLink, HttpLink, InMemoryCache } from "@apollo/client";
import { GraphQLWsLink } from "@apollo/client/link/subscriptions";
import { getMainDefinition, relayStylePagination } from "@apollo/client/utilities";
import { Kind, OperationTypeNode } from "graphql";
import { createClient } from "graphql-ws";

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
    http,
  );
  client = new ApolloClient({ link, cache: makeCache() });
  return { client, close: () => { void ws.dispose(); client?.stop(); } };
}

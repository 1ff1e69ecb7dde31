// Logs in as the expert (a bearer token), lists upcoming meetings, subscribes to
// meetingChanged, confirms a meeting that awaits the expert and prints the live event.
//
//   API_URL=http://127.0.0.1:8000/graphql EXPERT_TOKEN=... npx tsx src/main.ts
//
// Exit codes: 0 the live event arrived; 1 error; 2 nothing awaits the expert; 3 timeout.
import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";

import { ApolloClient, ApolloLink, HttpLink, InMemoryCache } from "@apollo/client";
import { PersistedQueryLink } from "@apollo/client/link/persisted-queries";
import { GraphQLWsLink } from "@apollo/client/link/subscriptions";
import { getMainDefinition } from "@apollo/client/utilities";
import { Kind, OperationTypeNode } from "graphql";
import { createClient } from "graphql-ws";
import WebSocket from "ws";

import type {
  ConfirmMeetingMutation,
  ConfirmMeetingMutationVariables,
  MeetingChangedSubscription,
  MeetingChangedSubscriptionVariables,
  MeetingFieldsFragment,
  UpcomingMeetingsQuery,
  UpcomingMeetingsQueryVariables,
} from "./__generated__/types.js";
import { CONFIRM_MEETING, MEETING_CHANGED, UPCOMING_MEETINGS } from "./operations.js";

const API_URL = process.env.API_URL ?? "http://127.0.0.1:8000/graphql";
const WS_URL = process.env.WS_URL ?? API_URL.replace(/^http/, "ws");
const TOKEN = process.env.EXPERT_TOKEN;
const TIMEOUT_MS = Number(process.env.TIMEOUT_MS ?? 15000);
// graphql-ws does not acknowledge a `subscribe` message: give the server a moment to
// register the subscription before the mutation that triggers the event.
const SETTLE_MS = Number(process.env.SUBSCRIBE_SETTLE_MS ?? 500);

function fail(code: number, message: string): never {
  console.error(message);
  process.exit(code);
}

if (!TOKEN) fail(1, "EXPERT_TOKEN is required (e.g. `meetings token demo-expert`)");

let connected!: () => void;
const wsConnected = new Promise<void>((resolve) => (connected = resolve));

// WebSocket auth: the token goes in the connection_init payload, not in a header.
const wsClient = createClient({
  url: WS_URL,
  webSocketImpl: WebSocket,
  connectionParams: { authorization: `Bearer ${TOKEN}` },
  lazy: false,
  retryAttempts: 3,
  on: { connected: () => connected() },
});

const httpLink = new HttpLink({
  uri: API_URL,
  headers: { authorization: `Bearer ${TOKEN}` }, // HTTP auth: the Authorization header
});

// Trusted documents: `npm run codegen` writes the manifest of this build's operations
// (SHA-256 → text); the server loads the same file (TRUSTED_DOCUMENTS) and, with
// TRUSTED_DOCUMENTS_ONLY=true, runs nothing else. Over HTTP the client sends only the hash
// (Apollo's persistedQuery extension), queries by GET (cacheable by URL).
const manifest: Record<string, string> = JSON.parse(
  readFileSync(new URL("./__generated__/client/persisted-documents.json", import.meta.url), "utf8"),
);
const HASHES = new Map<string, string>();
for (const [id, text] of Object.entries(manifest)) {
  const name = /\b(?:query|mutation|subscription)\s+(\w+)/.exec(text)?.[1];
  if (name) HASHES.set(name, id.replace(/^sha256:/, ""));
}

const persisted = new PersistedQueryLink({
  generateHash: (document) => {
    const definition = getMainDefinition(document);
    const name = definition.kind === Kind.OPERATION_DEFINITION ? definition.name?.value : undefined;
    const hash = name ? HASHES.get(name) : undefined;
    if (!hash) throw new Error(`${name ?? "an anonymous operation"} is not a trusted document`);
    return hash;
  },
  useGETForHashedQueries: true,
});

const link = ApolloLink.split(
  ({ query }) => {
    const definition = getMainDefinition(query);
    return (
      definition.kind === Kind.OPERATION_DEFINITION &&
      definition.operation === OperationTypeNode.SUBSCRIPTION
    );
  },
  new GraphQLWsLink(wsClient),
  persisted.concat(httpLink),
);

const client = new ApolloClient({ link, cache: new InMemoryCache() });

// Retries what the server calls retryable (extensions.code SERVICE_UNAVAILABLE, HTTP 503)
// and network failures, with a short backoff; everything else is thrown at once.
async function withRetries<T>(attempt: () => Promise<T>, tries = 4): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await attempt();
    } catch (error: unknown) {
      const text = error instanceof Error ? error.message : String(error);
      const retryable = /SERVICE_UNAVAILABLE|503|fetch failed|ECONNREFUSED|ECONNRESET/.test(text)
        || JSON.stringify(error).includes("SERVICE_UNAVAILABLE");
      if (!retryable || i >= tries) throw error;
      await new Promise((resolve) => setTimeout(resolve, 250 * 2 ** i));
    }
  }
}

function describe(m: MeetingFieldsFragment): string {
  return `${m.id}  ${m.startsAt}  ${m.status.padEnd(17)} v${m.version}  ` +
    `${m.service.title} with ${m.user.displayName}  actions=[${m.availableActions.join(",")}]`;
}

async function upcomingMeetings(): Promise<MeetingFieldsFragment[]> {
  const meetings: MeetingFieldsFragment[] = [];
  let after: string | null = null;
  // Relay pagination: first <= 100, then `after: pageInfo.endCursor` while hasNextPage.
  for (;;) {
    const variables: UpcomingMeetingsQueryVariables = { first: 20, after };
    const { data }: { data?: UpcomingMeetingsQuery } = await client.query<
      UpcomingMeetingsQuery, UpcomingMeetingsQueryVariables>({
      query: UPCOMING_MEETINGS,
      variables,
      fetchPolicy: "network-only",
    });
    if (!data) throw new Error("no data");
    if (after === null) {
      console.log(`signed in as ${data.viewer.account.displayName}; ` +
        `${data.meetings.totalCount} upcoming meeting(s) as expert:`);
    }
    meetings.push(...data.meetings.edges.map((edge) => edge.node));
    if (!data.meetings.pageInfo.hasNextPage) return meetings;
    after = data.meetings.pageInfo.endCursor;
  }
}

async function main(): Promise<void> {
  const meetings = await upcomingMeetings();
  for (const m of meetings) console.log(`  ${describe(m)}`);

  const target = meetings.find(
    (m) => m.awaitingResponseFrom === "EXPERT" && m.availableActions.includes("CONFIRM"),
  );
  if (!target) fail(2, "no upcoming meeting awaits the expert's confirmation");
  console.log(`subscribing to meetingChanged(${target.id})`);

  const liveEvent = new Promise<MeetingChangedSubscription["meetingChanged"]>(
    (resolve, reject) => {
      client
        .subscribe<MeetingChangedSubscription, MeetingChangedSubscriptionVariables>({
          query: MEETING_CHANGED,
          variables: { meetingId: target.id },
        })
        .subscribe({
          next: (result) => {
            if (result.error) return reject(result.error);
            const change = result.data?.meetingChanged;
            if (change?.event?.kind === "APPROVED_BY_EXPERT") resolve(change);
            else if (change) console.log(`  (other live event: ${change.event?.kind ?? "-"})`);
          },
          error: reject,
          complete: () => reject(new Error("subscription completed without the event")),
        });
    },
  );

  await wsConnected;
  await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));

  // One Idempotency-Key per intended action: a retry after a lost answer (a timeout, a
  // dropped connection, SERVICE_UNAVAILABLE) cannot confirm twice, and gets the first answer.
  const idempotencyKey = randomUUID();
  const confirm = () =>
    client.mutate<ConfirmMeetingMutation, ConfirmMeetingMutationVariables>({
      mutation: CONFIRM_MEETING,
      // expectedVersion: the action fails with STALE_VERSION if someone changed it meanwhile.
      variables: { input: { meetingId: target.id, expectedVersion: target.version } },
      context: { headers: { "Idempotency-Key": idempotencyKey } },
    });
  const confirmed = await withRetries(confirm);
  const payload = confirmed.data?.confirmMeeting;
  if (!payload) throw new Error("confirmMeeting returned no data");
  // Domain failures come back in the payload, not as GraphQL errors.
  if (payload.errors.length > 0) {
    fail(1, `confirmMeeting failed: ${payload.errors.map((e) => `${e.code}: ${e.message}`)}`);
  }
  for (const w of payload.warnings) console.log(`warning ${w.code}: ${w.message}`);
  console.log(`confirmed: ${describe(payload.meeting!)}`);
  // As if the answer had been lost: the retry replays it and changes nothing.
  const again = (await confirm()).data?.confirmMeeting;
  console.log(again?.meeting?.version === payload.meeting?.version && again?.errors.length === 0
    ? `retried with the same Idempotency-Key: same answer (v${again?.meeting?.version})`
    : `retried with the same Idempotency-Key: a different answer ${JSON.stringify(again)}`);

  const timeout = new Promise<never>((_, reject) =>
    setTimeout(() => reject(new Error("timeout")), TIMEOUT_MS),
  );
  const change = await Promise.race([liveEvent, timeout]).catch((error: Error) => {
    if (error.message === "timeout") fail(3, `no live event within ${TIMEOUT_MS} ms`);
    throw error;
  });
  console.log(`live event: ${change.event?.kind} "${change.event?.label}" by ` +
    `${change.event?.actor} at ${change.event?.at}; meeting ${change.meeting.id} is now ` +
    `${change.meeting.status} (v${change.meeting.version})`);
}

main()
  .then(async () => {
    await wsClient.dispose();
    process.exit(0);
  })
  .catch((error: unknown) => fail(1, `error: ${error instanceof Error ? error.message : error}`));

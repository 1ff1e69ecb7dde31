// Cache updates from subscription payloads alone (no refetch). A changed meeting is merged by
// id by Apollo itself; what Apollo cannot know is list membership and order, so a new or
// moved meeting is placed into every cached `meetings` page here, by its startsAt, with the
// cursor the event carries (MeetingChange.cursor).
import type { ApolloCache, Reference } from "@apollo/client";

type Edge = { __typename?: string; cursor: string; node: Reference };
type Connection = {
  edges: Edge[];
  pageInfo: { hasNextPage: boolean; endCursor?: string | null };
  totalCount?: number;
  unreadCount?: number;
};

type Placed = {
  id: string;
  startsAt: string;
  endsAt: string;
  status: string;
  viewerRole: string;
};

function listArgs(storeFieldName: string): Record<string, unknown> {
  const start = storeFieldName.indexOf("(") >= 0 ? storeFieldName.indexOf("(") + 1
    : storeFieldName.indexOf(":") + 1;
  if (start <= 0) return {};
  const text = storeFieldName.slice(start).replace(/\)$/, "");
  try {
    return JSON.parse(text) as Record<string, unknown>;
  } catch {
    return {};
  }
}

function belongs(args: Record<string, unknown>, meeting: Placed, now: number): boolean {
  const role = (args.role as string | undefined) ?? "ANY";
  if (role !== "ANY" && role !== meeting.viewerRole) return false;
  const ended = Date.parse(meeting.endsAt) <= now;
  if (args.upcoming === true && ended) return false;
  if (args.upcoming === false && !ended) return false;
  const statuses = args.status as string[] | null | undefined;
  return !statuses || statuses.includes(meeting.status);
}

export function placeMeeting(cache: ApolloCache, meeting: Placed, cursor: string): void {
  const ref = cache.identify({ __typename: "Meeting", id: meeting.id });
  if (!ref) return;
  const now = Date.now();
  cache.modify({
    id: "ROOT_QUERY",
    fields: {
      meetings(existing, { storeFieldName, readField }) {
        const list = existing as Connection;
        if (!list?.edges) return existing;
        const args = listArgs(storeFieldName);
        const had = list.edges.some((e) => e.node.__ref === ref);
        const edges = list.edges.filter((e) => e.node.__ref !== ref);
        let total = list.totalCount;
        if (belongs(args, meeting, now)) {
          const at = edges.findIndex(
            (e) => Date.parse(readField<string>("startsAt", e.node) ?? "") >
              Date.parse(meeting.startsAt));
          const edge: Edge = { __typename: "MeetingEdge", cursor, node: { __ref: ref } };
          if (at >= 0) edges.splice(at, 0, edge);
          else if (!list.pageInfo.hasNextPage) edges.push(edge);
          if (!had && total !== undefined) total += 1;
        } else if (had && total !== undefined) {
          total -= 1;
        }
        return { ...list, edges, totalCount: total };
      },
    },
  });
}

// The unread count comes from two sources: absolute counts (the list query, the answer of
// markNotificationsRead) and +1 per live notification. A notification created before the
// server counted, but delivered after the answer, is already in that count: the read time
// the answer carries (server clock, like createdAt) tells which.
let countedAt = "";

export function notificationsCountedAt(readAt: string | null | undefined): void {
  if (readAt && readAt > countedAt) countedAt = readAt;
}

/** A new notification goes first in every cached list (newest first) and counts as unread. */
export function prependNotification(cache: ApolloCache, id: string, createdAt: string): void {
  const ref = cache.identify({ __typename: "Notification", id });
  if (!ref) return;
  const counted = Date.parse(createdAt) <= Date.parse(countedAt || "1970-01-01T00:00:00Z");
  cache.modify({
    id: "ROOT_QUERY",
    fields: {
      notifications(existing) {
        const list = existing as Connection;
        if (!list?.edges || list.edges.some((e) => e.node.__ref === ref)) return existing;
        // The cursor of a page's first edge is never sent back (pagination goes forward
        // from endCursor), so the live edge needs none.
        const edge: Edge = { __typename: "NotificationEdge", cursor: "", node: { __ref: ref } };
        return { ...list, edges: [edge, ...list.edges],
                 unreadCount: (list.unreadCount ?? 0) + (counted ? 0 : 1) };
      },
    },
  });
}

/** A new message goes first in its conversation's cached messages (newest first). */
export function prependMessage(cache: ApolloCache, conversationId: string, id: string): void {
  const ref = cache.identify({ __typename: "Message", id });
  const owner = cache.identify({ __typename: "Conversation", id: conversationId });
  if (!ref || !owner) return;
  cache.modify({
    id: owner,
    fields: {
      messages(existing) {
        const list = existing as Connection;
        if (!list?.edges || list.edges.some((e) => e.node.__ref === ref)) return existing;
        const edge: Edge = { __typename: "MessageEdge", cursor: "", node: { __ref: ref } };
        return { ...list, edges: [edge, ...list.edges] };
      },
    },
  });
}

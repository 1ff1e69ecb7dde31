// Notifications, newest first; new ones arrive live (notificationReceived, see App.tsx) and
// raise the unread count; marking read takes the count and the read notifications from the
// payload.
import { useMutation, useQuery } from "@apollo/client/react";
import { useState } from "react";
import { Link } from "react-router";

import { FormErrors, type UserError } from "../components/Errors";
import { notificationsCountedAt } from "../live";
import { MARK_READ, NOTIFICATIONS } from "../operations";
import { useViewer } from "../session";
import { formatDateTime } from "../time";

export function Notifications() {
  const { zone } = useViewer();
  const { data, loading, error, fetchMore } = useQuery(NOTIFICATIONS);
  const [errors, setErrors] = useState<UserError[]>([]);
  const [mark, marking] = useMutation(MARK_READ, {
    update: (cache, result, { variables }) => {
      const payload = result.data?.markNotificationsRead;
      if (!payload) return;
      const countedAt = payload.notifications[0]?.readAt;
      notificationsCountedAt(countedAt);
      // Live ones that arrived before this answer but were created after the server counted.
      const cached = cache.readQuery({ query: NOTIFICATIONS });
      const later = countedAt ? (cached?.notifications.edges ?? []).filter(({ node }) =>
        !node.readAt && Date.parse(node.createdAt) > Date.parse(countedAt)).length : 0;
      cache.modify({ id: "ROOT_QUERY", fields: {
        notifications: (existing) => ({ ...(existing as object),
                                        unreadCount: payload.unreadCount + later }),
      } });
      // "Mark all" names no ids, so the payload lists none: the count of 0 says they all are.
      if (!variables?.ids && payload.unreadCount === 0 && !payload.errors.length) {
        const now = new Date().toISOString();
        for (const edge of data?.notifications.edges ?? []) {
          cache.modify({ id: cache.identify(edge.node), fields: {
            readAt: (value) => value ?? now } });
        }
      }
    },
  });
  const run = async (ids: string[] | null) => {
    const r = await mark({ variables: { ids } }).catch(() => null);
    setErrors(r?.data?.markNotificationsRead.errors ?? []);
  };
  const list = data?.notifications;
  return (
    <section aria-labelledby="notifications-title">
      <h1 id="notifications-title">Notifications</h1>
      {loading && !list && <p aria-live="polite">Loading notifications…</p>}
      {error && <p role="alert" className="errors">{error.message}</p>}
      <FormErrors errors={errors} failure={marking.error} />
      {list && (
        <>
          <p><span data-testid="unread-total">{list.unreadCount}</span> unread{" "}
            <button type="button" disabled={!list.unreadCount || marking.loading}
                    onClick={() => void run(null)}>Mark all read</button></p>
          {list.edges.length === 0 && <p data-testid="empty">No notifications.</p>}
          <ul className="notifications plain" data-testid="notifications">
            {list.edges.map(({ node: n }) => (
              <li key={n.id} className={n.readAt ? "read" : "unread"} data-read={!!n.readAt}
                  data-id={n.id}>
                <strong>{n.title}</strong>{" "}
                <time className="muted" dateTime={n.createdAt}>{formatDateTime(n.createdAt, zone)}</time>
                <p>{n.body}</p>
                {n.meeting && <Link to={`/meetings/${encodeURIComponent(n.meeting.id)}`}>Open the meeting</Link>}
                {!n.readAt && (
                  <button type="button" className="link" disabled={marking.loading}
                          onClick={() => void run([n.id])}>Mark read<span className="sr-only">: {n.title}</span></button>
                )}
              </li>
            ))}
          </ul>
          {list.pageInfo.hasNextPage && (
            <button type="button" onClick={() => void fetchMore({
              variables: { after: list.pageInfo.endCursor } })}>Older notifications</button>
          )}
        </>
      )}
    </section>
  );
}

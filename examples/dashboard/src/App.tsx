import { useQuery, useSubscription } from "@apollo/client/react";
import { NavLink, Route, Routes } from "react-router";

import { placeMeeting, prependNotification } from "./live";
import { MEETING_CHANGED, NOTIFICATION_RECEIVED, NOTIFICATIONS } from "./operations";
import { Book } from "./screens/Book";
import { Chat } from "./screens/Chat";
import { FreeDates } from "./screens/FreeDates";
import { MeetingDetails } from "./screens/MeetingDetails";
import { Notifications } from "./screens/Notifications";
import { Sessions } from "./screens/Sessions";
import { useSignOut, useViewer } from "./session";

/** The viewer's live streams, for the whole session: every screen reads the cache they fill. */
function Live() {
  useSubscription(MEETING_CHANGED, {
    onData: ({ client, data }) => {
      const change = data.data?.meetingChanged;
      if (change) placeMeeting(client.cache, change.meeting, change.cursor);
    },
  });
  useSubscription(NOTIFICATION_RECEIVED, {
    onData: ({ client, data }) => {
      const note = data.data?.notificationReceived;
      if (note) prependNotification(client.cache, note.id, note.createdAt);
    },
  });
  return null;
}

function Header() {
  const { viewer, zone } = useViewer();
  const { data } = useQuery(NOTIFICATIONS);
  const signOut = useSignOut();
  const unread = data?.notifications.unreadCount ?? 0;
  const isExpert = viewer?.account.isExpert ?? false;
  return (
    <header className="top">
      <nav aria-label="Main">
        <NavLink to="/" end>Sessions</NavLink>
        <NavLink to="/book">Book an expert</NavLink>
        <NavLink to="/chat">Chat</NavLink>
        <NavLink to="/notifications">
          Notifications <span className="count" data-testid="unread-count"
                              aria-label={`${unread} unread`}>{unread}</span>
        </NavLink>
        {isExpert && <NavLink to="/availability">Free dates</NavLink>}
      </nav>
      <div className="who">
        {viewer && (
          <>
            <span data-testid="viewer-name">{viewer.account.displayName}</span>
            <span className="muted"> · {zone} · </span>
            <span data-testid="credits">
              {viewer.credits.available} credits available, {viewer.credits.blocked} blocked
            </span>
          </>
        )}
        <button type="button" className="link" onClick={signOut}>Sign out</button>
      </div>
    </header>
  );
}

export function App() {
  return (
    <>
      <Live />
      <Header />
      <main>
        <Routes>
          <Route path="/" element={<Sessions />} />
          <Route path="/meetings/:id" element={<MeetingDetails />} />
          <Route path="/book" element={<Book />} />
          <Route path="/chat" element={<Chat />} />
          <Route path="/chat/:id" element={<Chat />} />
          <Route path="/notifications" element={<Notifications />} />
          <Route path="/availability" element={<FreeDates />} />
        </Routes>
      </main>
    </>
  );
}

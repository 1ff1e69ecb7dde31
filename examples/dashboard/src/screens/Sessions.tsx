// The viewer's meetings as expert, as user or all; upcoming first (the API sorts soonest
// first), paginated. Badges change live: the app-wide meetingChanged subscription writes
// each committed meeting into the cache and places new ones into these pages (src/live.ts).
import { useQuery } from "@apollo/client/react";
import { useState } from "react";
import { Link } from "react-router";

import { StatusBadge } from "../components/StatusBadge";
import type { MeetingRole } from "../gql/graphql";
import { MEETINGS } from "../operations";
import { useViewer } from "../session";
import { formatDateTime } from "../time";

const PAGE = 10;
const ROLES: { role: MeetingRole; label: string }[] = [
  { role: "EXPERT", label: "As expert" },
  { role: "USER", label: "As user" },
  { role: "ANY", label: "All" },
];

export function Sessions() {
  const { viewer, zone } = useViewer();
  const [chosen, setRole] = useState<MeetingRole | null>(null);
  const [upcoming, setUpcoming] = useState(true);
  const role: MeetingRole = chosen ?? (viewer?.account.isExpert ? "EXPERT" : "USER");
  const { data, loading, error, fetchMore } = useQuery(MEETINGS, {
    variables: { role, upcoming, first: PAGE },
    skip: !viewer,
  });
  const list = data?.meetings;
  return (
    <section aria-labelledby="sessions-title">
      <h1 id="sessions-title">Sessions</h1>
      <div className="toolbar">
        <div role="group" aria-label="Role">
          {ROLES.map((r) => (
            <button key={r.role} type="button" aria-pressed={role === r.role}
                    onClick={() => setRole(r.role)}>{r.label}</button>
          ))}
        </div>
        <label>
          <input type="checkbox" checked={upcoming} onChange={(e) => setUpcoming(e.target.checked)} />
          {" "}Upcoming only
        </label>
      </div>
      {error && <p role="alert" className="errors">{error.message}</p>}
      {loading && !list && <p aria-live="polite">Loading meetings…</p>}
      {list && list.edges.length === 0 && <p data-testid="empty">No meetings here yet.</p>}
      {list && list.edges.length > 0 && (
        <>
          <p className="muted" data-testid="total">{list.totalCount} meetings</p>
          <table className="meetings">
            <thead>
              <tr><th scope="col">When ({zone})</th><th scope="col">With</th>
                <th scope="col">Service</th><th scope="col">Status</th><th scope="col">Next</th></tr>
            </thead>
            <tbody>
              {list.edges.map(({ node: m }) => {
                const other = m.viewerRole === "EXPERT" ? m.user : m.expert;
                return (
                  <tr key={m.id} data-testid="meeting-row" data-meeting-id={m.id}>
                    <td><Link to={`/meetings/${encodeURIComponent(m.id)}`}>
                      {formatDateTime(m.startsAt, zone)}</Link>
                      {m.alternative && (
                        <div className="muted">new date proposed: {formatDateTime(m.alternative.startsAt, zone)}</div>
                      )}
                    </td>
                    <td>{other.displayName}{m.viewerRole === "USER" ? " (expert)" : " (user)"}</td>
                    <td>{m.service.title} · {m.skill.name}</td>
                    <td><StatusBadge status={m.status} /></td>
                    <td>{m.awaitingResponseFrom === m.viewerRole
                      ? <strong>Your answer</strong>
                      : m.awaitingResponseFrom ? "Waiting for the other side" : ""}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
          {list.pageInfo.hasNextPage && (
            <button type="button" onClick={() => void fetchMore({
              variables: { after: list.pageInfo.endCursor } })}>Load more</button>
          )}
        </>
      )}
    </section>
  );
}

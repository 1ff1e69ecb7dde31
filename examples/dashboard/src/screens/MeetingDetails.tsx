// One meeting: parties, service, skill, price, credit status, dates (both while an
// alternative is pending, the current one marked valid), conference link, timeline, and one
// button per `availableActions` entry.
import { useMutation, useQuery } from "@apollo/client/react";
import { useState } from "react";
import { Link, useNavigate, useParams } from "react-router";

import {
  CancelAlternativeDialog, CancelDialog, ConfirmDialog, ConflictList, ReasonDialog,
  RescheduleDialog, type Warnings,
} from "../components/MeetingDialogs";
import { ProposeDialog } from "../components/ProposeDialog";
import { StatusBadge } from "../components/StatusBadge";
import type { MeetingAction } from "../gql/graphql";
import { MEETING, START_CONVERSATION } from "../operations";
import { useViewer } from "../session";
import { formatDateTime, formatRange } from "../time";

const ACTION_LABELS: Record<MeetingAction, string> = {
  CONFIRM: "Confirm",
  DECLINE: "Decline",
  CANCEL: "Cancel meeting",
  RESCHEDULE: "Propose new date",
  CONFIRM_ALTERNATIVE_DATE: "Confirm new date",
  REJECT_ALTERNATIVE_DATE: "Reject new date",
  CANCEL_ALTERNATIVE_DATE: "Withdraw new date",
};
const CREDITS: Record<string, string> = {
  NONE: "Not blocked yet", BLOCKED: "Blocked", RETURNED: "Returned to the user",
  PAID: "Paid to the expert",
};

export function MeetingDetails() {
  const { id = "" } = useParams();
  const { viewer, zone } = useViewer();
  const navigate = useNavigate();
  const { data, loading, error, refetch } = useQuery(MEETING, { variables: { id } });
  const [open, setOpen] = useState<MeetingAction | "PROPOSE" | null>(null);
  const [warnings, setWarnings] = useState<Warnings>([]);
  const [startChat, chatting] = useMutation(START_CONVERSATION);
  const [chatErrors, setChatErrors] = useState<string[]>([]);

  if (loading && !data) return <p aria-live="polite">Loading the meeting…</p>;
  if (error) return <p role="alert" className="errors">{error.message}</p>;
  const m = data?.meeting;
  if (!m) return <p role="alert">This meeting does not exist or is not yours.</p>;

  const other = m.viewerRole === "EXPERT" ? m.user : m.expert;
  const close = () => setOpen(null);
  const common = { meeting: m, onClose: close, onDone: setWarnings,
                   onStale: () => void refetch() };
  const pending = m.alternative;
  const isExpertHere = m.viewerRole === "EXPERT" && !!viewer?.account.expertProfile;

  const openChat = async () => {
    if (m.conversation) { navigate(`/chat/${encodeURIComponent(m.conversation.id)}`); return; }
    const r = await startChat({ variables: { withAccountId: other.id } }).catch(() => null);
    const payload = r?.data?.startConversation;
    setChatErrors(payload?.errors.map((e) => e.message) ?? ["The chat could not be opened."]);
    if (payload?.conversation) navigate(`/chat/${encodeURIComponent(payload.conversation.id)}`);
  };

  return (
    <article aria-labelledby="meeting-title" data-testid="meeting-details" data-meeting-id={m.id}>
      <p><Link to="/">← Sessions</Link></p>
      <h1 id="meeting-title">{m.service.title} with {other.displayName}</h1>
      <p><StatusBadge status={m.status} />{" "}
        {m.awaitingResponseFrom && (m.awaitingResponseFrom === m.viewerRole
          ? <strong>Waiting for your answer</strong>
          : <span>Waiting for the {m.awaitingResponseFrom.toLowerCase()}</span>)}</p>

      {warnings.map((w) => (
        <div key={w.code} className="warning" role="alert" data-testid="warnings"
             data-code={w.code}>
          <p><strong>{w.message}</strong></p>
          <ConflictList meetings={w.conflictingMeetings} zone={zone} />
        </div>
      ))}

      <section aria-labelledby="dates-title" className="dates">
        <h2 id="dates-title">Date</h2>
        <p data-testid="current-date">
          {formatRange(m.startsAt, m.endsAt, zone)}
          {pending && <strong className="valid"> — still valid until the new date is confirmed</strong>}
        </p>
        {pending && (
          <p data-testid="alternative-date" className="alternative">
            New date proposed by the {pending.proposedBy.toLowerCase()}:{" "}
            {formatRange(pending.startsAt, pending.endsAt, zone)}
            <span className="muted"> (proposed {formatDateTime(pending.proposedAt, zone)})</span>
          </p>
        )}
      </section>

      <dl className="facts">
        <dt>Expert</dt><dd>{m.expert.displayName}</dd>
        <dt>User</dt><dd>{m.user.displayName}</dd>
        <dt>Service</dt><dd>{m.service.title}</dd>
        <dt>Skill</dt><dd>{m.skill.name}</dd>
        <dt>Length</dt><dd>{m.lengthMinutes} minutes</dd>
        <dt>Price</dt><dd>{m.priceCredits} credits</dd>
        <dt>Credits</dt><dd data-testid="credit-status">{CREDITS[m.creditPaymentStatus]}</dd>
        {m.rejectionReason && <><dt>Rejection reason</dt><dd>{m.rejectionReason.label}</dd></>}
        {m.cancellationReason && <><dt>Cancellation reason</dt><dd>{m.cancellationReason.label}</dd></>}
        <dt>Conference</dt>
        <dd>{m.status === "AGREED" && m.conference?.joinUrl
          ? <a href={m.conference.joinUrl} data-testid="join-link">Join the conference</a>
          : m.conference ? `${m.conference.provider}: ${m.conference.status.toLowerCase()}`
            : "Created once the meeting is agreed"}</dd>
      </dl>

      <div className="buttons" role="group" aria-label="Actions" data-testid="actions">
        {m.availableActions.map((a) => (
          <button key={a} type="button" data-action={a} onClick={() => setOpen(a)}>
            {ACTION_LABELS[a]}</button>
        ))}
        <button type="button" onClick={() => void openChat()} disabled={chatting.loading}>
          Open chat</button>
        {isExpertHere && (
          <button type="button" onClick={() => setOpen("PROPOSE")}>Propose another meeting</button>
        )}
      </div>
      {chatErrors.length > 0 && <p role="alert" className="errors">{chatErrors.join(" ")}</p>}

      <section aria-labelledby="timeline-title">
        <h2 id="timeline-title">Timeline</h2>
        <ol className="timeline" data-testid="timeline">
          {m.timeline.map((e) => (
            <li key={e.id} data-kind={e.kind}>
              <span className="label">{e.label}</span>{" "}
              <time dateTime={e.at}>{formatDateTime(e.at, zone)}</time>
              {e.startsAt && <span className="muted"> · for {formatDateTime(e.startsAt, zone)}</span>}
              {e.reason && <span> · {e.reason.label}</span>}
              {e.note && <span> · “{e.note}”</span>}
            </li>
          ))}
        </ol>
      </section>

      {open === "CONFIRM" && <ConfirmDialog {...common} />}
      {open === "CONFIRM_ALTERNATIVE_DATE" && <ConfirmDialog {...common} alternative />}
      {open === "DECLINE" && <ReasonDialog {...common} action="decline" />}
      {open === "REJECT_ALTERNATIVE_DATE" && <ReasonDialog {...common} action="rejectAlternative" />}
      {open === "CANCEL" && <CancelDialog {...common} />}
      {open === "RESCHEDULE" && <RescheduleDialog {...common} />}
      {open === "CANCEL_ALTERNATIVE_DATE" && <CancelAlternativeDialog {...common} />}
      {open === "PROPOSE" && <ProposeDialog fromMeetingId={m.id} onClose={close} />}
    </article>
  );
}

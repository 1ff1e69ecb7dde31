// The dialogs behind a meeting's action buttons. Which buttons exist is `availableActions`;
// what a dialog shows before acting is asked from the API when it opens (`conflicts`,
// `cancellationPolicy`, `reasons(kind)`), and what happened comes from the payload
// (`errors` next to their field, `warnings` after the fact).
import { useMutation, useQuery } from "@apollo/client/react";
import { useState } from "react";

import type { MeetingDetailFragment, MeetingSummaryFragment, ReasonKind }
  from "../gql/graphql";
import {
  CANCEL, CANCEL_ALTERNATIVE, CANCELLATION_POLICY, CONFIRM, CONFIRM_ALTERNATIVE, DECLINE,
  MEETING_CONFLICTS, REASONS, REJECT_ALTERNATIVE, RESCHEDULE,
} from "../operations";
import { useViewer } from "../session";
import { formatDateTime, formatRange, isoToWall, wallToIso } from "../time";
import { Dialog } from "./Dialog";
import { FieldError, fieldError, FormErrors, type UserError } from "./Errors";

export type Warnings = { code: string; message: string;
                         conflictingMeetings: MeetingSummaryFragment[] }[];
type Props = { meeting: MeetingDetailFragment; onClose: () => void;
               onDone: (warnings: Warnings) => void; onStale: () => void };
type Payload = { errors: UserError[]; warnings: Warnings; meeting?: unknown } | undefined;

function finish(payload: Payload, setErrors: (e: UserError[]) => void, props: Props,
                reread?: () => void): void {
  if (!payload) return;
  setErrors(payload.errors);
  // Someone (or the system: conference, reminders) changed the meeting since it was shown:
  // re-read it and what the dialog showed, and let the viewer decide again.
  if (payload.errors.some((e) => e.code === "STALE_VERSION")) { props.onStale(); reread?.(); }
  if (payload.errors.length === 0) {
    props.onDone(payload.warnings);
    props.onClose();
  }
}

export function ConflictList(props: { meetings: MeetingSummaryFragment[]; zone: string }) {
  return (
    <ul className="conflicts" data-testid="conflicts">
      {props.meetings.map((c) => (
        <li key={c.id}>
          {formatRange(c.startsAt, c.endsAt, props.zone)} — {c.service.title} with{" "}
          {c.viewerRole === "EXPERT" ? c.user.displayName : c.expert.displayName}
        </li>
      ))}
    </ul>
  );
}

/** A2/A2′ (confirm the meeting) or A8/A8′ (confirm the pending alternative date). */
export function ConfirmDialog(props: Props & { alternative?: boolean }) {
  const { zone } = useViewer();
  const { meeting } = props;
  const check = useQuery(MEETING_CONFLICTS, { variables: { id: meeting.id },
                                              fetchPolicy: "network-only" });
  const [confirm, confirming] = useMutation(CONFIRM);
  const [confirmAlternative, confirmingAlternative] = useMutation(CONFIRM_ALTERNATIVE);
  const [errors, setErrors] = useState<UserError[]>([]);
  const conflicts = check.data?.meeting?.conflicts ?? [];
  const date = props.alternative && meeting.alternative ? meeting.alternative : meeting;
  const submit = async () => {
    setErrors([]); // a retry starts from a clean slate
    // The conflicts query wrote the version it read into the cache: `meeting` is that fresh.
    const input = { meetingId: meeting.id, expectedVersion: meeting.version };
    const reread = () => void check.refetch();
    if (props.alternative) {
      const r = await confirmAlternative({ variables: { input } }).catch(() => null);
      finish(r?.data?.confirmAlternativeDate, setErrors, props, reread);
    } else {
      const r = await confirm({ variables: { input } }).catch(() => null);
      finish(r?.data?.confirmMeeting, setErrors, props, reread);
    }
  };
  const title = props.alternative ? "Confirm the new date" : "Confirm the meeting";
  return (
    <Dialog title={title} onClose={props.onClose} testId="confirm-dialog">
      <p>{meeting.service.title}: {formatRange(date.startsAt, date.endsAt, zone)}</p>
      {check.loading && <p aria-live="polite">Checking your calendar…</p>}
      {check.error && <p role="alert" className="errors">{check.error.message}</p>}
      {conflicts.length > 0 && (
        <div className="warning" role="alert">
          <p><strong>You already have {conflicts.length === 1 ? "an agreed meeting"
            : `${conflicts.length} agreed meetings`} at this time:</strong></p>
          <ConflictList meetings={conflicts} zone={zone} />
        </div>
      )}
      {check.data && conflicts.length === 0 && <p>No other agreed meeting at this time.</p>}
      <FormErrors errors={errors} failure={confirming.error ?? confirmingAlternative.error} />
      <div className="buttons">
        <button type="button" onClick={() => void submit()}
                disabled={!check.data || confirming.loading || confirmingAlternative.loading}>
          {conflicts.length ? "Confirm anyway" : "Confirm"}
        </button>
        <button type="button" onClick={props.onClose}>Close</button>
      </div>
    </Dialog>
  );
}

function ReasonPicker(props: { kind: ReasonKind; value: string; onChange: (v: string) => void;
                               error?: UserError }) {
  const reasons = useQuery(REASONS, { variables: { kind: props.kind } });
  return (
    <fieldset aria-describedby="reason-error">
      <legend>Reason</legend>
      {reasons.loading && <p>Loading reasons…</p>}
      {reasons.data?.reasons.map((r) => (
        <label key={r.code} className="radio">
          <input type="radio" name="reason" value={r.code} checked={props.value === r.code}
                 onChange={() => props.onChange(r.code)} /> {r.label}
        </label>
      ))}
      <FieldError id="reason-error" error={props.error} />
    </fieldset>
  );
}

/** A3/A3′ decline, A9/A9′ reject the alternative date: a reason from the API's list. */
export function ReasonDialog(props: Props & { action: "decline" | "rejectAlternative" }) {
  const { meeting } = props;
  const [decline, declining] = useMutation(DECLINE);
  const [reject, rejecting] = useMutation(REJECT_ALTERNATIVE);
  const [reasonCode, setReason] = useState("");
  const [note, setNote] = useState("");
  const [errors, setErrors] = useState<UserError[]>([]);
  const submit = async () => {
    setErrors([]); // a retry starts from a clean slate
    const input = { meetingId: meeting.id, expectedVersion: meeting.version, reasonCode,
                    note: note || null };
    if (props.action === "decline") {
      const r = await decline({ variables: { input } }).catch(() => null);
      finish(r?.data?.declineMeeting, setErrors, props);
    } else {
      const r = await reject({ variables: { input } }).catch(() => null);
      finish(r?.data?.rejectAlternativeDate, setErrors, props);
    }
  };
  const title = props.action === "decline" ? "Decline the meeting" : "Reject the new date";
  return (
    <Dialog title={title} onClose={props.onClose} testId="reason-dialog">
      <form className="stack" onSubmit={(e) => { e.preventDefault(); void submit(); }}>
        <FormErrors errors={errors} fields={["reasonCode", "note"]}
                    failure={declining.error ?? rejecting.error} />
        <ReasonPicker kind="REJECTION" value={reasonCode} onChange={setReason}
                      error={fieldError(errors, "reasonCode")} />
        <label htmlFor="reason-note">Note (optional)</label>
        <textarea id="reason-note" value={note} onChange={(e) => setNote(e.target.value)} />
        <div className="buttons">
          <button type="submit" disabled={declining.loading || rejecting.loading}>
            {props.action === "decline" ? "Decline" : "Reject new date"}</button>
          <button type="button" onClick={props.onClose}>Close</button>
        </div>
      </form>
    </Dialog>
  );
}

/** A5/A6 cancel with a reason; inside the late window the API wants the confirmation form. */
export function CancelDialog(props: Props) {
  const { zone } = useViewer();
  const { meeting } = props;
  const policy = useQuery(CANCELLATION_POLICY, { variables: { id: meeting.id },
                                                 fetchPolicy: "network-only" });
  const [cancel, cancelling] = useMutation(CANCEL);
  const [reasonCode, setReason] = useState("");
  const [note, setNote] = useState("");
  const [acknowledged, setAcknowledged] = useState(false);
  const [errors, setErrors] = useState<UserError[]>([]);
  const late = policy.data?.meeting?.cancellationPolicy
    ?? meeting.cancellationPolicy;
  // The window may be crossed while the dialog is open: the API's answer then says so.
  const mustAcknowledge = late.isLate
    || errors.some((e) => e.code === "LATE_CANCELLATION_NOT_ACKNOWLEDGED");
  const submit = async () => {
    setErrors([]); // a retry starts from a clean slate
    const r = await cancel({ variables: { input: {
      meetingId: meeting.id, expectedVersion: meeting.version, reasonCode: reasonCode || null,
      note: note || null, acknowledgeLateCancellation: mustAcknowledge && acknowledged,
    } } }).catch(() => null);
    finish(r?.data?.cancelMeeting, setErrors, props, () => void policy.refetch());
  };
  return (
    <Dialog title="Cancel the meeting" onClose={props.onClose} testId="cancel-dialog">
      <form className="stack" onSubmit={(e) => { e.preventDefault(); void submit(); }}>
        <FormErrors errors={errors} fields={["reasonCode", "note", "acknowledgeLateCancellation"]}
                    failure={cancelling.error} />
        <ReasonPicker kind="CANCELLATION" value={reasonCode} onChange={setReason}
                      error={fieldError(errors, "reasonCode")} />
        <label htmlFor="cancel-note">Note (optional)</label>
        <textarea id="cancel-note" value={note} onChange={(e) => setNote(e.target.value)} />
        {mustAcknowledge && (
          <fieldset className="warning" data-testid="late-cancellation">
            <legend>Late cancellation</legend>
            <p>The meeting starts {formatDateTime(meeting.startsAt, zone)}; cancellations are late
              from {formatDateTime(late.lateFrom, zone)}.</p>
            <label className="radio">
              <input type="checkbox" checked={acknowledged} aria-describedby="ack-error"
                     onChange={(e) => setAcknowledged(e.target.checked)} />
              {" "}I confirm this late cancellation
            </label>
            <FieldError id="ack-error" error={fieldError(errors, "acknowledgeLateCancellation")} />
          </fieldset>
        )}
        <div className="buttons">
          <button type="submit" disabled={!policy.data || cancelling.loading}>Cancel meeting</button>
          <button type="button" onClick={props.onClose}>Close</button>
        </div>
      </form>
    </Dialog>
  );
}

/** A7/A7′: propose a new date (the current one stays valid until it is confirmed). */
export function RescheduleDialog(props: Props) {
  const { zone } = useViewer();
  const { meeting } = props;
  const [reschedule, rescheduling] = useMutation(RESCHEDULE);
  const [when, setWhen] = useState(isoToWall(meeting.startsAt, zone));
  const [errors, setErrors] = useState<UserError[]>([]);
  const submit = async () => {
    setErrors([]); // a retry starts from a clean slate
    const r = await reschedule({ variables: { input: {
      meetingId: meeting.id, expectedVersion: meeting.version,
      startsAt: wallToIso(when, zone),
    } } }).catch(() => null);
    finish(r?.data?.rescheduleMeeting, setErrors, props);
  };
  return (
    <Dialog title="Propose a new date" onClose={props.onClose} testId="reschedule-dialog">
      <form className="stack" onSubmit={(e) => { e.preventDefault(); void submit(); }}>
        <FormErrors errors={errors} fields={["startsAt"]} failure={rescheduling.error} />
        <p>Current date: {formatRange(meeting.startsAt, meeting.endsAt, zone)}</p>
        <label htmlFor="new-date">New date and time ({zone})</label>
        <input id="new-date" type="datetime-local" value={when} required
               aria-describedby="new-date-error" onChange={(e) => setWhen(e.target.value)} />
        <FieldError id="new-date-error" error={fieldError(errors, "startsAt")} />
        <div className="buttons">
          <button type="submit" disabled={rescheduling.loading}>Propose new date</button>
          <button type="button" onClick={props.onClose}>Close</button>
        </div>
      </form>
    </Dialog>
  );
}

/** A10/A10′: withdraw one's own pending alternative date. */
export function CancelAlternativeDialog(props: Props) {
  const { zone } = useViewer();
  const { meeting } = props;
  const [withdraw, withdrawing] = useMutation(CANCEL_ALTERNATIVE);
  const [errors, setErrors] = useState<UserError[]>([]);
  const submit = async () => {
    setErrors([]); // a retry starts from a clean slate
    const r = await withdraw({ variables: { input: {
      meetingId: meeting.id, expectedVersion: meeting.version } } }).catch(() => null);
    finish(r?.data?.cancelAlternativeDate, setErrors, props);
  };
  return (
    <Dialog title="Withdraw the new date" onClose={props.onClose} testId="withdraw-dialog">
      {meeting.alternative && (
        <p>Withdraw {formatRange(meeting.alternative.startsAt, meeting.alternative.endsAt, zone)}?
          The current date stays.</p>
      )}
      <FormErrors errors={errors} failure={withdrawing.error} />
      <div className="buttons">
        <button type="button" onClick={() => void submit()} disabled={withdrawing.loading}>
          Withdraw new date</button>
        <button type="button" onClick={props.onClose}>Close</button>
      </div>
    </Dialog>
  );
}

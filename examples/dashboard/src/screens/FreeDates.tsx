// The expert's free dates: weekly rules in a chosen zone, one-off free dates, blocked dates,
// and the bookable slots the API derives from them (expertFreeSlots), re-read after each
// change so the preview shows what users will be offered.
import { useMutation, useQuery } from "@apollo/client/react";
import { useEffect, useMemo, useState } from "react";

import { FieldError, fieldError, FormErrors, type UserError } from "../components/Errors";
import type { Weekday } from "../gql/graphql";
import {
  ADD_BLOCKED, ADD_FREE, FREE_SLOTS, MY_AVAILABILITY, REMOVE_BLOCKED, REMOVE_FREE, SET_WEEKLY,
} from "../operations";
import { useViewer } from "../session";
import { formatRange, wallToIso, zones } from "../time";
import { SlotList } from "./Book";

const WEEKDAYS: Weekday[] = ["MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY",
                             "SUNDAY"];
type Rule = { weekday: Weekday; startTime: string; endTime: string };
const PREVIEW_DAYS = 7;

// The preview is derived data: after any change it is asked for again.
const REFRESH = { refetchQueries: [FREE_SLOTS] };

function errorsOf(payload: { errors: UserError[] } | undefined): UserError[] {
  return payload ? payload.errors : [{ code: "INVALID_INPUT", message: "The request failed." }];
}

function DateRanges(props: { title: string; testId: string; ranges: { id: string; startsAt: string;
                                                                      endsAt: string }[];
                             zone: string; add: (startsAt: string, endsAt: string) => Promise<UserError[]>;
                             remove: (id: string) => Promise<UserError[]> }) {
  const [from, setFrom] = useState("");
  const [to, setTo] = useState("");
  const [errors, setErrors] = useState<UserError[]>([]);
  const slug = props.testId;
  return (
    <section aria-labelledby={`${slug}-title`} data-testid={slug}>
      <h2 id={`${slug}-title`}>{props.title}</h2>
      {props.ranges.length === 0 && <p>None.</p>}
      <ul className="plain">
        {props.ranges.map((r) => (
          <li key={r.id}>{formatRange(r.startsAt, r.endsAt, props.zone)}{" "}
            <button type="button" className="link" onClick={async () => setErrors(await props.remove(r.id))}>
              Remove<span className="sr-only"> {formatRange(r.startsAt, r.endsAt, props.zone)}</span></button>
          </li>
        ))}
      </ul>
      <form className="row" onSubmit={async (e) => {
        e.preventDefault();
        const result = await props.add(wallToIso(from, props.zone), wallToIso(to, props.zone));
        setErrors(result);
        if (!result.length) { setFrom(""); setTo(""); }
      }}>
        <FormErrors errors={errors} fields={["input[0].startsAt", "input[0].endsAt"]} />
        <label htmlFor={`${slug}-from`}>From ({props.zone})</label>
        <input id={`${slug}-from`} type="datetime-local" value={from} required
               onChange={(e) => setFrom(e.target.value)} aria-describedby={`${slug}-from-error`} />
        <FieldError id={`${slug}-from-error`} error={fieldError(errors, "input[0].startsAt")} />
        <label htmlFor={`${slug}-to`}>To</label>
        <input id={`${slug}-to`} type="datetime-local" value={to} required
               onChange={(e) => setTo(e.target.value)} aria-describedby={`${slug}-to-error`} />
        <FieldError id={`${slug}-to-error`} error={fieldError(errors, "input[0].endsAt")} />
        <button type="submit">Add</button>
      </form>
    </section>
  );
}

export function FreeDates() {
  const { viewer, zone } = useViewer();
  const { data, loading, error } = useQuery(MY_AVAILABILITY);
  const profile = data?.viewer.account.expertProfile;
  const availability = profile?.availability;
  const [ruleZone, setRuleZone] = useState("UTC");
  const [rules, setRules] = useState<Rule[]>([]);
  const [ruleErrors, setRuleErrors] = useState<UserError[]>([]);
  const [saved, setSaved] = useState(false);
  // Each payload leads to the expert's profile (AvailabilityPayload.expert), so the cache, and
  // this screen, hold what the API stored; the rule editor restarts from it when it changes.
  const stored = JSON.stringify([availability?.timezone, availability?.weeklyRules]);
  useEffect(() => {
    if (!availability) return;
    setRuleZone(availability.timezone);
    setRules(availability.weeklyRules.map((r) => ({ weekday: r.weekday, startTime: r.startTime,
                                                    endTime: r.endTime })));
  }, [stored]);

  const services = (profile?.services ?? []).filter((s) => s.active);
  const [length, setLength] = useState<number | null>(null);
  const previewLength = length ?? services[0]?.lengthMinutes ?? 60;
  const span = useMemo(() => {
    // From midnight UTC rather than now: the API steps slots from the start of the free time
    // it sees in the window, so a window starting now would offer 10:53, 11:53, … (past
    // slots are left out by the API anyway).
    const from = new Date();
    from.setUTCHours(0, 0, 0, 0);
    return { from: from.toISOString(),
             to: new Date(from.getTime() + (PREVIEW_DAYS + 1) * 86400000).toISOString() };
  }, []);
  const slots = useQuery(FREE_SLOTS, {
    variables: { expertId: viewer?.account.id ?? "", from: span.from, to: span.to,
                 lengthMinutes: previewLength },
    skip: !viewer,
  });

  const [setWeekly, settingWeekly] = useMutation(SET_WEEKLY, REFRESH);
  const [addFree] = useMutation(ADD_FREE, REFRESH);
  const [removeFree] = useMutation(REMOVE_FREE, REFRESH);
  const [addBlocked] = useMutation(ADD_BLOCKED, REFRESH);
  const [removeBlocked] = useMutation(REMOVE_BLOCKED, REFRESH);
  const allZones = useMemo(zones, []);

  if (loading && !data) return <p aria-live="polite">Loading your free dates…</p>;
  if (error) return <p role="alert" className="errors">{error.message}</p>;
  if (!profile || !availability) {
    return <p>Free dates belong to experts: create a service first.</p>;
  }

  const saveRules = async () => {
    setSaved(false);
    const r = await setWeekly({ variables: { input: { timezone: ruleZone, rules } } })
      .catch(() => null);
    const errors = errorsOf(r?.data?.setWeeklyAvailability);
    setRuleErrors(errors);
    if (!errors.length) setSaved(true);
  };
  const update = (i: number, change: Partial<Rule>) =>
    setRules(rules.map((r, j) => (j === i ? { ...r, ...change } : r)));

  return (
    <section aria-labelledby="free-title" className="free-dates">
      <h1 id="free-title">Free dates</h1>
      <section aria-labelledby="weekly-title" data-testid="weekly-rules">
        <h2 id="weekly-title">Weekly rules</h2>
        <form className="stack" onSubmit={(e) => { e.preventDefault(); void saveRules(); }}>
          <FormErrors errors={ruleErrors}
                      fields={["timezone", ...rules.flatMap((_, i) => [
                        `rules[${i}]`, `rules[${i}].startTime`, `rules[${i}].endTime`])]} />
          <label htmlFor="rule-zone">Time zone of the rules</label>
          <select id="rule-zone" value={ruleZone} onChange={(e) => setRuleZone(e.target.value)}
                  aria-describedby="rule-zone-error">
            {allZones.map((z) => <option key={z} value={z}>{z}</option>)}
          </select>
          <FieldError id="rule-zone-error" error={fieldError(ruleErrors, "timezone")} />
          <table>
            <thead><tr><th scope="col">Day</th><th scope="col">From</th><th scope="col">To</th>
              <th scope="col"><span className="sr-only">Remove</span></th></tr></thead>
            <tbody>
              {rules.map((r, i) => (
                <tr key={i} data-testid="rule">
                  <td>
                    <select aria-label={`Rule ${i + 1} day`} value={r.weekday}
                            onChange={(e) => update(i, { weekday: e.target.value as Weekday })}>
                      {WEEKDAYS.map((d) => <option key={d} value={d}>{d.toLowerCase()}</option>)}
                    </select>
                    <FieldError id={`rule-${i}-error`} error={fieldError(ruleErrors, `rules[${i}]`)} />
                  </td>
                  <td>
                    <input aria-label={`Rule ${i + 1} from`} type="text" inputMode="numeric"
                           pattern="[0-9]{2}:[0-9]{2}" placeholder="HH:MM" value={r.startTime}
                           aria-describedby={`rule-${i}-start-error`}
                           onChange={(e) => update(i, { startTime: e.target.value })} />
                    <FieldError id={`rule-${i}-start-error`}
                                error={fieldError(ruleErrors, `rules[${i}].startTime`)} />
                  </td>
                  <td>
                    <input aria-label={`Rule ${i + 1} to`} type="text" inputMode="numeric"
                           pattern="[0-9]{2}:[0-9]{2}" placeholder="HH:MM" value={r.endTime}
                           aria-describedby={`rule-${i}-end-error`}
                           onChange={(e) => update(i, { endTime: e.target.value })} />
                    <FieldError id={`rule-${i}-end-error`}
                                error={fieldError(ruleErrors, `rules[${i}].endTime`)} />
                  </td>
                  <td><button type="button" className="link"
                              onClick={() => setRules(rules.filter((_, j) => j !== i))}>
                    Remove<span className="sr-only"> rule {i + 1}</span></button></td>
                </tr>
              ))}
            </tbody>
          </table>
          <div className="buttons">
            <button type="button" onClick={() => setRules([...rules,
              { weekday: "MONDAY", startTime: "09:00", endTime: "17:00" }])}>Add rule</button>
            <button type="submit" disabled={settingWeekly.loading}>Save weekly rules</button>
            {saved && <span role="status">Saved.</span>}
          </div>
        </form>
      </section>

      <DateRanges title="Extra free dates" testId="free-dates" ranges={availability.freeDates}
                  zone={zone}
                  add={async (startsAt, endsAt) => errorsOf((await addFree({ variables: {
                    input: [{ startsAt, endsAt }] } }).catch(() => null))?.data?.addFreeDates)}
                  remove={async (id) => errorsOf((await removeFree({ variables: { ids: [id] } })
                    .catch(() => null))?.data?.removeFreeDates)} />
      <DateRanges title="Blocked dates" testId="blocked-dates" ranges={availability.blockedDates}
                  zone={zone}
                  add={async (startsAt, endsAt) => errorsOf((await addBlocked({ variables: {
                    input: [{ startsAt, endsAt }] } }).catch(() => null))?.data?.addBlockedDates)}
                  remove={async (id) => errorsOf((await removeBlocked({ variables: { ids: [id] } })
                    .catch(() => null))?.data?.removeBlockedDates)} />

      <section aria-labelledby="preview-title">
        <h2 id="preview-title">Bookable slots, next {PREVIEW_DAYS} days ({zone})</h2>
        <label htmlFor="preview-length">Slot length</label>{" "}
        <select id="preview-length" value={previewLength}
                onChange={(e) => setLength(Number(e.target.value))}>
          {[...new Set([...services.map((s) => s.lengthMinutes), 30, 60])].sort((a, b) => a - b)
            .map((l) => <option key={l} value={l}>{l} minutes</option>)}
        </select>
        {slots.loading && <p aria-live="polite">Updating…</p>}
        {slots.error && <p role="alert" className="errors">{slots.error.message}</p>}
        {slots.data && <SlotList slots={slots.data.expertFreeSlots} zone={zone} testId="slot-preview" />}
      </section>
    </section>
  );
}

// The user side of booking (A1): pick an expert (Query.experts), a service and skill, then
// one of the bookable slots the API computes (expertFreeSlots); the request blocks credits.
import { useMutation, useQuery } from "@apollo/client/react";
import { useMemo, useState } from "react";
import { useNavigate } from "react-router";

import { Dialog } from "../components/Dialog";
import { FormErrors, type UserError } from "../components/Errors";
import { EXPERTS, FREE_SLOTS, REQUEST } from "../operations";
import { useViewer } from "../session";
import { formatDay, formatRange, formatTime } from "../time";

const DAYS = 14;

export function SlotList(props: { slots: { startsAt: string; endsAt: string }[]; zone: string;
                                  onPick?: (startsAt: string) => void; testId: string }) {
  const byDay = new Map<string, { startsAt: string; endsAt: string }[]>();
  for (const s of props.slots) {
    const day = formatDay(s.startsAt, props.zone);
    byDay.set(day, [...(byDay.get(day) ?? []), s]);
  }
  if (!props.slots.length) return <p data-testid={props.testId}>No free slots in this period.</p>;
  return (
    <div className="slots" data-testid={props.testId}>
      {[...byDay].map(([day, slots]) => (
        <div key={day} className="slot-day">
          <h3>{day}</h3>
          <ul className="plain inline">
            {slots.map((s) => (
              <li key={s.startsAt}>
                {props.onPick
                  ? <button type="button" data-slot={s.startsAt} onClick={() => props.onPick!(s.startsAt)}>
                      {formatTime(s.startsAt, props.zone)}</button>
                  : <span className="slot" data-slot={s.startsAt}>{formatTime(s.startsAt, props.zone)}</span>}
              </li>
            ))}
          </ul>
        </div>
      ))}
    </div>
  );
}

export function Book() {
  const { viewer, zone } = useViewer();
  const navigate = useNavigate();
  const experts = useQuery(EXPERTS);
  const others = (experts.data?.experts ?? []).filter((e) => e.id !== viewer?.account.id);
  const [expertId, setExpertId] = useState("");
  const expert = others.find((e) => e.id === expertId) ?? others[0];
  const services = (expert?.expertProfile?.services ?? []).filter((s) => s.active);
  const [serviceId, setServiceId] = useState("");
  const service = services.find((s) => s.id === serviceId) ?? services[0];
  const [skillId, setSkillId] = useState("");
  const skill = service?.skills.find((s) => s.id === skillId) ?? service?.skills[0];
  const span = useMemo(() => {
    // From midnight UTC rather than now: the API steps slots from the start of the free time
    // it sees in the window, so a window starting now would offer 10:53, 11:53, … (past
    // slots are left out by the API anyway).
    const from = new Date();
    from.setUTCHours(0, 0, 0, 0);
    return { from: from.toISOString(),
             to: new Date(from.getTime() + (DAYS + 1) * 86400000).toISOString() };
  }, []);
  const slots = useQuery(FREE_SLOTS, {
    variables: { expertId: expert?.id ?? "", from: span.from, to: span.to,
                 lengthMinutes: service?.lengthMinutes ?? 60 },
    skip: !expert || !service,
    fetchPolicy: "cache-and-network",
  });
  const [picked, setPicked] = useState<string | null>(null);
  const [request, requesting] = useMutation(REQUEST, { refetchQueries: [FREE_SLOTS] });
  const [errors, setErrors] = useState<UserError[]>([]);

  const submit = async () => {
    setErrors([]);
    if (!picked || !service || !skill) return;
    const r = await request({ variables: { input: {
      serviceId: service.id, skillId: skill.id, startsAt: picked } } }).catch(() => null);
    const payload = r?.data?.requestMeeting;
    if (!payload) return;
    setErrors(payload.errors);
    if (payload.meeting && !payload.errors.length) {
      setPicked(null);
      navigate(`/meetings/${encodeURIComponent(payload.meeting.id)}`);
    }
  };

  return (
    <section aria-labelledby="book-title">
      <h1 id="book-title">Book an expert</h1>
      {experts.loading && <p aria-live="polite">Loading experts…</p>}
      {experts.error && <p role="alert" className="errors">{experts.error.message}</p>}
      {experts.data && !others.length && <p>No expert offers a service yet.</p>}
      {expert && (
        <div className="stack narrow">
          <label htmlFor="b-expert">Expert</label>
          <select id="b-expert" value={expert.id} onChange={(e) => {
            setExpertId(e.target.value); setServiceId(""); setSkillId(""); }}>
            {others.map((e) => <option key={e.id} value={e.id}>{e.displayName}</option>)}
          </select>
          {expert.expertProfile?.headline && <p className="muted">{expert.expertProfile.headline}</p>}
          <label htmlFor="b-service">Service</label>
          <select id="b-service" value={service?.id ?? ""} onChange={(e) => {
            setServiceId(e.target.value); setSkillId(""); }}>
            {services.map((s) => (
              <option key={s.id} value={s.id}>
                {s.title} — {s.lengthMinutes} min, {s.priceCredits} credits</option>
            ))}
          </select>
          <label htmlFor="b-skill">Skill</label>
          <select id="b-skill" value={skill?.id ?? ""} onChange={(e) => setSkillId(e.target.value)}>
            {service?.skills.map((s) => <option key={s.id} value={s.id}>{s.name}</option>)}
          </select>
        </div>
      )}
      {service && (
        <section aria-labelledby="slots-title">
          <h2 id="slots-title">Free slots, next {DAYS} days ({zone})</h2>
          {slots.loading && !slots.data && <p aria-live="polite">Loading free slots…</p>}
          {slots.error && <p role="alert" className="errors">{slots.error.message}</p>}
          {slots.data && <SlotList slots={slots.data.expertFreeSlots} zone={zone}
                                   onPick={(s) => { setErrors([]); setPicked(s); }} testId="book-slots" />}
        </section>
      )}
      {picked && service && expert && (
        <Dialog title="Request this meeting" onClose={() => setPicked(null)} testId="request-dialog">
          <p>{service.title} with {expert.displayName}:{" "}
            {formatRange(picked, new Date(Date.parse(picked) + service.lengthMinutes * 60000)
              .toISOString(), zone)}</p>
          <p>{service.priceCredits} credits will be blocked until the meeting takes place
            (you have {viewer?.credits.available ?? 0} available).</p>
          <FormErrors errors={errors} failure={requesting.error} />
          <div className="buttons">
            <button type="button" onClick={() => void submit()} disabled={requesting.loading}>
              Send request</button>
            <button type="button" onClick={() => setPicked(null)}>Close</button>
          </div>
        </Dialog>
      )}
    </section>
  );
}

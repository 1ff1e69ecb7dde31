// A4: the expert proposes a meeting (service, skill, date and time, length, price) to a user,
// from one of their meetings (fromMeetingId) or from the chat (conversationId).
import { useMutation } from "@apollo/client/react";
import { useMemo, useState } from "react";
import { useNavigate } from "react-router";

import { PROPOSE } from "../operations";
import { useViewer } from "../session";
import { isoToWall, wallToIso } from "../time";
import { Dialog } from "./Dialog";
import { FieldError, fieldError, FormErrors, type UserError } from "./Errors";

const FIELDS = ["serviceId", "skillId", "startsAt", "lengthMinutes", "priceCredits"];

export function ProposeDialog(props: { fromMeetingId?: string; conversationId?: string;
                                       onClose: () => void }) {
  const { viewer, zone } = useViewer();
  const navigate = useNavigate();
  const services = useMemo(
    () => (viewer?.account.expertProfile?.services ?? []).filter((s) => s.active),
    [viewer]);
  const [serviceId, setServiceId] = useState(services[0]?.id ?? "");
  const service = services.find((s) => s.id === serviceId);
  const [skillId, setSkillId] = useState(service?.skills[0]?.id ?? "");
  const tomorrow = new Date(Date.now() + 86400000);
  tomorrow.setUTCMinutes(0, 0, 0);
  const [when, setWhen] = useState(isoToWall(tomorrow.toISOString(), zone));
  const [length, setLength] = useState(String(service?.lengthMinutes ?? 60));
  const [price, setPrice] = useState(String(service?.priceCredits ?? 0));
  const [errors, setErrors] = useState<UserError[]>([]);
  const [propose, { loading, error }] = useMutation(PROPOSE);

  const pickService = (id: string) => {
    const next = services.find((s) => s.id === id);
    setServiceId(id);
    setSkillId(next?.skills[0]?.id ?? "");
    if (next) { setLength(String(next.lengthMinutes)); setPrice(String(next.priceCredits)); }
  };

  const submit = async () => {
    setErrors([]);
    const result = await propose({ variables: { input: {
      serviceId, skillId, startsAt: when ? wallToIso(when, zone) : "",
      lengthMinutes: Number(length), priceCredits: Number(price),
      fromMeetingId: props.fromMeetingId ?? null, conversationId: props.conversationId ?? null,
    } } }).catch(() => null);
    const payload = result?.data?.proposeMeeting;
    if (!payload) return;
    setErrors(payload.errors);
    if (payload.meeting && payload.errors.length === 0) {
      props.onClose();
      navigate(`/meetings/${encodeURIComponent(payload.meeting.id)}`);
    }
  };

  return (
    <Dialog title="Propose a meeting" onClose={props.onClose} testId="propose-dialog">
      <form className="stack" onSubmit={(e) => { e.preventDefault(); void submit(); }}>
        <FormErrors errors={errors} fields={FIELDS} failure={error} />
        <label htmlFor="p-service">Service</label>
        <select id="p-service" value={serviceId} onChange={(e) => pickService(e.target.value)}
                aria-describedby="p-service-error">
          {services.map((s) => <option key={s.id} value={s.id}>{s.title}</option>)}
        </select>
        <FieldError id="p-service-error" error={fieldError(errors, "serviceId")} />
        <label htmlFor="p-skill">Skill</label>
        <select id="p-skill" value={skillId} onChange={(e) => setSkillId(e.target.value)}
                aria-describedby="p-skill-error">
          {service?.skills.map((s) => <option key={s.id} value={s.id}>{s.name}</option>)}
        </select>
        <FieldError id="p-skill-error" error={fieldError(errors, "skillId")} />
        <label htmlFor="p-when">Date and time ({zone})</label>
        <input id="p-when" type="datetime-local" value={when} required
               onChange={(e) => setWhen(e.target.value)} aria-describedby="p-when-error" />
        <FieldError id="p-when-error" error={fieldError(errors, "startsAt")} />
        <label htmlFor="p-length">Length (minutes)</label>
        <input id="p-length" type="number" min={1} value={length}
               onChange={(e) => setLength(e.target.value)} aria-describedby="p-length-error" />
        <FieldError id="p-length-error" error={fieldError(errors, "lengthMinutes")} />
        <label htmlFor="p-price">Price (credits)</label>
        <input id="p-price" type="number" min={0} value={price}
               onChange={(e) => setPrice(e.target.value)} aria-describedby="p-price-error" />
        <FieldError id="p-price-error" error={fieldError(errors, "priceCredits")} />
        <div className="buttons">
          <button type="submit" disabled={loading}>Send proposal</button>
          <button type="button" onClick={props.onClose}>Close</button>
        </div>
      </form>
    </Dialog>
  );
}

// Mutation failures come back as data (payload `errors`): each is shown next to the input it
// names (`field`), the rest above the form. Top-level GraphQL/network errors likewise.
export type UserError = { code: string; message: string; field?: string | null };

// Texts of our own where the API's message speaks to developers (docs/api.md: switch on the
// code, show `message` when you have no text of your own).
const TEXTS: Partial<Record<string, string>> = {
  LATE_CANCELLATION_NOT_ACKNOWLEDGED: "Tick the box to confirm this late cancellation.",
  STALE_VERSION: "The meeting changed meanwhile. The page now shows its current state: check it and try again.",
};

function text(error: UserError): string {
  return TEXTS[error.code] ?? error.message;
}

export function fieldError(errors: UserError[] | undefined, field: string): UserError | undefined {
  return errors?.find((e) => e.field === field);
}

/** The errors not tied to one of `fields` (those are shown beside their input). */
export function FormErrors(props: { errors?: UserError[]; fields?: string[]; failure?: unknown }) {
  const rest = (props.errors ?? []).filter((e) => !e.field || !(props.fields ?? []).includes(e.field));
  const failure = props.failure instanceof Error ? props.failure.message : undefined;
  if (!rest.length && !failure) return null;
  return (
    <div role="alert" className="errors" data-testid="form-errors">
      {rest.map((e) => (
        <p key={e.code + e.message} data-code={e.code}>{text(e)}</p>
      ))}
      {failure && <p data-code="REQUEST_FAILED">{failure}</p>}
    </div>
  );
}

export function FieldError(props: { id: string; error?: UserError }) {
  if (!props.error) return null;
  return (
    <span id={props.id} role="alert" className="field-error" data-code={props.error.code}>
      {text(props.error)}
    </span>
  );
}

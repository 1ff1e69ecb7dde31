// The chat: the viewer's conversations, one open with its messages arriving live
// (messageAdded), proposals linking to their meeting, and "propose a meeting" for experts.
import { useMutation, useQuery, useSubscription } from "@apollo/client/react";
import { useState } from "react";
import { Link, useParams } from "react-router";

import { FieldError, fieldError, FormErrors, type UserError } from "../components/Errors";
import { ProposeDialog } from "../components/ProposeDialog";
import { StatusBadge } from "../components/StatusBadge";
import { prependMessage } from "../live";
import { CONVERSATION, CONVERSATIONS, MESSAGE_ADDED, SEND_MESSAGE } from "../operations";
import { useViewer } from "../session";
import { formatDateTime } from "../time";

function Conversation(props: { id: string }) {
  const { viewer, zone } = useViewer();
  const { data, loading, error, fetchMore } = useQuery(CONVERSATION, { variables: { id: props.id } });
  useSubscription(MESSAGE_ADDED, {
    variables: { conversationId: props.id },
    onData: ({ client, data: live }) => {
      const message = live.data?.messageAdded;
      if (message) prependMessage(client.cache, props.id, message.id);
    },
  });
  const [send, sending] = useMutation(SEND_MESSAGE);
  const [body, setBody] = useState("");
  const [errors, setErrors] = useState<UserError[]>([]);
  const [proposing, setProposing] = useState(false);
  if (loading && !data) return <p aria-live="polite">Loading the conversation…</p>;
  if (error) return <p role="alert" className="errors">{error.message}</p>;
  const conversation = data?.conversation;
  if (!conversation) return <p role="alert">This conversation does not exist or is not yours.</p>;
  const me = viewer?.account.id;
  const others = conversation.participants.filter((p) => p.id !== me);
  const messages = [...conversation.messages.edges].reverse(); // the API sends newest first

  const submit = async () => {
    const r = await send({
      variables: { conversationId: props.id, body },
      update: (cache, result) => {
        const message = result.data?.sendMessage.message;
        if (message) prependMessage(cache, props.id, message.id);
      },
    }).catch(() => null);
    const payload = r?.data?.sendMessage;
    if (!payload) return;
    setErrors(payload.errors);
    if (!payload.errors.length) setBody("");
  };

  return (
    <section aria-labelledby="conversation-title" className="conversation">
      <h2 id="conversation-title">With {others.map((p) => p.displayName).join(", ")}</h2>
      {conversation.messages.pageInfo.hasNextPage && (
        <button type="button" onClick={() => void fetchMore({
          variables: { after: conversation.messages.pageInfo.endCursor } })}>
          Earlier messages</button>
      )}
      {messages.length === 0 && <p>No messages yet.</p>}
      <ol className="messages plain" data-testid="messages" aria-live="polite">
        {messages.map(({ node: msg }) => (
          <li key={msg.id} className={msg.author.id === me ? "mine" : "theirs"} data-kind={msg.kind}>
            <span className="author">{msg.author.displayName}</span>{" "}
            <time className="muted" dateTime={msg.createdAt}>{formatDateTime(msg.createdAt, zone)}</time>
            <p>{msg.body}</p>
            {msg.meeting && (
              <p className="proposal">
                <Link to={`/meetings/${encodeURIComponent(msg.meeting.id)}`}>
                  {msg.meeting.service.title}, {formatDateTime(msg.meeting.startsAt, zone)}</Link>{" "}
                <StatusBadge status={msg.meeting.status} />
              </p>
            )}
          </li>
        ))}
      </ol>
      <form className="stack" onSubmit={(e) => { e.preventDefault(); void submit(); }}>
        <FormErrors errors={errors} fields={["body"]} failure={sending.error} />
        <label htmlFor="message-body">Message</label>
        <textarea id="message-body" value={body} rows={2} aria-describedby="message-error"
                  onChange={(e) => setBody(e.target.value)} />
        <FieldError id="message-error" error={fieldError(errors, "body")} />
        <div className="buttons">
          <button type="submit" disabled={sending.loading}>Send</button>
          {viewer?.account.expertProfile && (
            <button type="button" onClick={() => setProposing(true)}>Propose a meeting</button>
          )}
        </div>
      </form>
      {proposing && <ProposeDialog conversationId={props.id} onClose={() => setProposing(false)} />}
    </section>
  );
}

export function Chat() {
  const { id } = useParams();
  const { viewer } = useViewer();
  const list = useQuery(CONVERSATIONS, { fetchPolicy: "cache-and-network" });
  const me = viewer?.account.id;
  return (
    <div className="chat">
      <nav aria-labelledby="conversations-title" className="conversations">
        <h1 id="conversations-title">Chat</h1>
        {list.loading && !list.data && <p aria-live="polite">Loading conversations…</p>}
        {list.error && <p role="alert" className="errors">{list.error.message}</p>}
        {list.data?.conversations.length === 0 && (
          <p>No conversations yet: open one from a meeting.</p>
        )}
        <ul className="plain">
          {list.data?.conversations.map((c) => (
            <li key={c.id}>
              <Link to={`/chat/${encodeURIComponent(c.id)}`} aria-current={c.id === id ? "page" : undefined}>
                {c.participants.filter((p) => p.id !== me).map((p) => p.displayName).join(", ")}
              </Link>
            </li>
          ))}
        </ul>
      </nav>
      {id ? <Conversation key={id} id={id} /> : <p>Choose a conversation.</p>}
    </div>
  );
}

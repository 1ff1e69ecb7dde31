// A modal on the native <dialog>: showModal() traps focus, Escape closes it, focus returns to
// the opener when it closes. Keyboard-usable without a library.
import { useEffect, useId, useRef, type ReactNode } from "react";

export function Dialog(props: { title: string; onClose: () => void; children: ReactNode;
                                testId?: string }) {
  const ref = useRef<HTMLDialogElement>(null);
  const titleId = useId();
  // The latest onClose, without reopening the dialog whenever the parent re-renders.
  const onClose = useRef(props.onClose);
  useEffect(() => { onClose.current = props.onClose; });
  useEffect(() => {
    const dialog = ref.current;
    if (!dialog) return;
    const opener = document.activeElement as HTMLElement | null;
    dialog.showModal();
    const cancel = (event: Event) => { event.preventDefault(); onClose.current(); };
    dialog.addEventListener("cancel", cancel);
    return () => {
      dialog.removeEventListener("cancel", cancel);
      if (dialog.open) dialog.close();
      opener?.focus?.();
    };
  }, []);
  return (
    <dialog ref={ref} aria-labelledby={titleId} data-testid={props.testId} className="dialog">
      <h2 id={titleId}>{props.title}</h2>
      {props.children}
    </dialog>
  );
}

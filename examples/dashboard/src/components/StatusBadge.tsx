const LABELS: Record<string, string> = {
  AWAITING_APPROVAL: "Awaiting approval",
  AGREED: "Agreed",
  REJECTED: "Rejected",
  CANCELLED: "Cancelled",
  COMPLETED: "Completed",
  EXPIRED: "Expired",
};

export function StatusBadge(props: { status: string }) {
  return (
    <span className={`badge badge-${props.status}`} data-testid="status" data-status={props.status}>
      {LABELS[props.status] ?? props.status}
    </span>
  );
}

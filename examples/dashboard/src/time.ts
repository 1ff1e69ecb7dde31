// Times are shown in the viewer's zone (Account.timezone), not the browser's: an expert in
// Berlin reads Berlin times wherever the laptop is. Inputs are wall-clock times in that zone.

function parts(instant: Date, zone: string): Record<string, number> {
  const fields = new Intl.DateTimeFormat("en-US", {
    timeZone: zone, hourCycle: "h23", year: "numeric", month: "2-digit", day: "2-digit",
    hour: "2-digit", minute: "2-digit", second: "2-digit",
  }).formatToParts(instant);
  const out: Record<string, number> = {};
  for (const p of fields) if (p.type !== "literal") out[p.type] = Number(p.value);
  return out;
}

/** The zone's offset from UTC at `instant`, in minutes. */
function offsetMinutes(instant: Date, zone: string): number {
  const p = parts(instant, zone);
  const asUtc = Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second);
  return Math.round((asUtc - Math.floor(instant.getTime() / 1000) * 1000) / 60000);
}

/** "2026-12-05T10:00" read as a wall-clock time in `zone` → the instant (ISO, UTC). */
export function wallToIso(local: string, zone: string): string {
  const [date, time = "00:00"] = local.split("T");
  const [y, mo, d] = date.split("-").map(Number);
  const [h, mi] = time.split(":").map(Number);
  const guess = Date.UTC(y, mo - 1, d, h, mi);
  // Two passes: the offset at the guess, then at the corrected instant (DST edges).
  let instant = guess - offsetMinutes(new Date(guess), zone) * 60000;
  instant = guess - offsetMinutes(new Date(instant), zone) * 60000;
  return new Date(instant).toISOString();
}

/** The instant as "YYYY-MM-DDTHH:MM" in `zone`, for <input type="datetime-local">. */
export function isoToWall(iso: string, zone: string): string {
  const p = parts(new Date(iso), zone);
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${p.year}-${pad(p.month)}-${pad(p.day)}T${pad(p.hour)}:${pad(p.minute)}`;
}

export function formatDateTime(iso: string, zone: string): string {
  return new Intl.DateTimeFormat("en-GB", {
    timeZone: zone, weekday: "short", day: "numeric", month: "short", year: "numeric",
    hour: "2-digit", minute: "2-digit",
  }).format(new Date(iso));
}

export function formatTime(iso: string, zone: string): string {
  return new Intl.DateTimeFormat("en-GB", { timeZone: zone, hour: "2-digit", minute: "2-digit" })
    .format(new Date(iso));
}

export function formatDay(iso: string, zone: string): string {
  return new Intl.DateTimeFormat("en-GB", {
    timeZone: zone, weekday: "long", day: "numeric", month: "long",
  }).format(new Date(iso));
}

export function formatRange(startsAt: string, endsAt: string, zone: string): string {
  return `${formatDateTime(startsAt, zone)} – ${formatTime(endsAt, zone)}`;
}

/** Every IANA zone the browser knows, for the weekly rules' zone picker. */
export function zones(): string[] {
  const intl = Intl as unknown as { supportedValuesOf?: (key: string) => string[] };
  const known = intl.supportedValuesOf?.("timeZone") ?? [];
  return known.includes("UTC") ? known : ["UTC", ...known];
}

// The dashboard in a real browser, the expert and the user side by side (two contexts),
// against a real API on the embedded default seeded with `meetings demo`. Every live change
// below arrives through the subscriptions: no page is reloaded after sign-in.
import { readFileSync } from "node:fs";

import AxeBuilder from "@axe-core/playwright";
import { expect, test, type Browser, type Locator, type Page } from "@playwright/test";

const BASE = `http://127.0.0.1:${process.env.DASHBOARD_PORT ?? 5176}`;
const PROD = `http://127.0.0.1:${process.env.DASHBOARD_PROD_PORT ?? 5177}`;
const SHOTS = process.env.SCREENSHOT_DIR;

test.describe.configure({ mode: "serial" });

// The development API of this suite runs with TRUSTED_DOCUMENTS_ONLY: every operation, the
// test's own look-ups included, is one of the build's trusted documents.
const MANIFEST: Record<string, string> = JSON.parse(
  readFileSync(new URL("../src/gql/persisted-documents.json", import.meta.url), "utf8"));

/** Runs one of the dashboard's own operations by its documentId, with the page's token. */
async function trusted(page: Page, name: string, variables: object = {}): Promise<any> {
  const entry = Object.entries(MANIFEST)
    .find(([, text]) => new RegExp(`\\b(query|mutation) ${name}\\b`).test(text));
  if (!entry) throw new Error(`${name} is not in the manifest`);
  return page.evaluate(async ({ documentId, variables }) => {
    const response = await fetch("/graphql", {
      method: "POST",
      headers: { "content-type": "application/json",
                 authorization: `Bearer ${sessionStorage.getItem("meetings.token")}` },
      body: JSON.stringify({ documentId, variables }),
    });
    return (await response.json()).data;
  }, { documentId: entry[0], variables });
}

async function shot(page: Page, name: string): Promise<void> {
  if (SHOTS) await page.screenshot({ path: `${SHOTS}/dashboard-${name}.png` });
}

/** axe-core on the page as it is now: no serious or critical violation. */
async function accessible(page: Page, screen: string): Promise<void> {
  const result = await new AxeBuilder({ page }).analyze();
  const bad = result.violations
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => `${screen}: ${v.id} (${v.impact}) ${v.help}: ${v.nodes.map((n) => n.target).join(" ")}`);
  expect(bad).toEqual([]);
}

async function signIn(browser: Browser, who: RegExp): Promise<Page> {
  const context = await browser.newContext({ timezoneId: "UTC" });
  const page = await context.newPage();
  page.on("pageerror", (error) => console.error(`page error (${who}):`, error.message));
  await page.goto(`${BASE}/`);
  await page.getByRole("button", { name: who }).click();
  await expect(page.getByTestId("viewer-name")).toBeVisible();
  return page;
}

async function credits(page: Page): Promise<[number, number]> {
  const text = (await page.getByTestId("credits").textContent()) ?? "";
  const [available, blocked] = [...text.matchAll(/\d+/g)].map((m) => Number(m[0]));
  return [available, blocked];
}

function creditsText([available, blocked]: [number, number]): string {
  return `${available} credits available, ${blocked} blocked`;
}

const nav = (page: Page, name: string | RegExp) =>
  page.getByRole("navigation", { name: "Main" }).getByRole("link", { name });
const row = (page: Page, id: string) => page.locator(`[data-testid=meeting-row][data-meeting-id="${id}"]`);

async function openMeeting(page: Page, id: string): Promise<void> {
  await nav(page, "Sessions").click();
  await row(page, id).getByRole("link").click();
  await expect(page.getByTestId("meeting-details")).toHaveAttribute("data-meeting-id", id);
}

async function book(page: Page, pick: "first" | "last" | string): Promise<[string, string]> {
  await nav(page, "Book an expert").click();
  const slots = page.getByTestId("book-slots").locator("button[data-slot]");
  await expect(slots.first()).toBeVisible();
  const slot = pick === "first" ? slots.first() : pick === "last" ? slots.last()
    : page.locator(`[data-testid=book-slots] button[data-slot="${pick}"]`);
  const startsAt = (await slot.getAttribute("data-slot"))!;
  await slot.click();
  await page.getByTestId("request-dialog").getByRole("button", { name: "Send request" }).click();
  const details = page.getByTestId("meeting-details");
  await expect(details).toBeVisible();
  return [(await details.getAttribute("data-meeting-id"))!, startsAt];
}

/**
 * Clicks a dialog's submit button until the dialog closes. The system changes meetings by
 * itself (conference created, reminder and link sent: each raises `version`), so an action
 * may race one and get STALE_VERSION; the dialog then re-reads the meeting, as a person
 * would, and the second click applies to the state now shown.
 */
async function submitUntilClosed(dialog: Locator, button: string | RegExp): Promise<void> {
  for (let attempt = 0; attempt < 3; attempt += 1) {
    await dialog.getByRole("button", { name: button }).click(); // clears the last errors
    const stale = dialog.locator("[data-code=STALE_VERSION]");
    await expect.poll(async () => (await dialog.count()) === 0 || (await stale.count()) > 0)
      .toBe(true);
    if ((await dialog.count()) === 0) return;
    await expect(dialog.getByRole("button", { name: button })).toBeEnabled();
    await dialog.page().waitForTimeout(300); // the re-read of the meeting
  }
  await expect(dialog).toHaveCount(0);
}

/** Clicks a dialog's submit button until the API refuses with the error `expected` shows
 * (re-clicking after a STALE_VERSION race, as above). */
async function submitExpecting(dialog: Locator, button: string, expected: Locator): Promise<void> {
  const stale = dialog.locator("[data-code=STALE_VERSION]");
  for (let attempt = 0; attempt < 3; attempt += 1) {
    await dialog.getByRole("button", { name: button }).click(); // clears the last errors
    await expect.poll(async () => (await expected.count()) > 0 || (await stale.count()) > 0)
      .toBe(true);
    if (await expected.count()) return;
    await expect(dialog.getByRole("button", { name: button })).toBeEnabled();
    await dialog.page().waitForTimeout(300); // the re-read of the meeting
  }
  await expect(expected).toBeVisible();
}

let expert: Page;
let user: Page;
let first: string; // A: booked, confirmed, later cancelled late
let second: string; // B: same slot, confirmed over the conflict, then rescheduled
let slotA: string;
let proposed: string; // the expert's proposal from the chat, accepted by the user

test.beforeAll(async ({ browser }) => {
  expert = await signIn(browser, /Erika Expert/);
  user = await signIn(browser, /Uma User/);
});

test("sign-in lists the demo accounts in development only", async ({ browser }) => {
  const page = await (await browser.newContext()).newPage();
  await page.goto(`${BASE}/`);
  await expect(page.getByTestId("demo-accounts").getByRole("button")).toHaveCount(3);
  await shot(page, "signin");
  await accessible(page, "sign-in");
  await page.goto(`${PROD}/`);
  await expect(page.getByTestId("no-demo-accounts")).toBeVisible();
  await expect(page.getByTestId("demo-accounts")).toHaveCount(0);
  await expect(page.getByRole("button", { name: /Sign in as/ })).toHaveCount(0);
});

test("a booked slot appears on the expert's list without a reload", async () => {
  const rows = expert.getByTestId("meeting-row");
  await expect(rows).toHaveCount(4); // the demo data set
  await shot(expert, "sessions");
  await accessible(expert, "sessions");
  const before = await credits(user);

  await nav(user, "Book an expert").click();
  await expect(user.getByTestId("book-slots").locator("button").first()).toBeVisible();
  await shot(user, "book");
  await accessible(user, "book");
  [first, slotA] = await book(user, "first");
  await expect(user.getByTestId("credits")).toHaveText(creditsText([before[0] - 50, before[1] + 50]));

  await expect(row(expert, first)).toBeVisible();
  await expect(rows).toHaveCount(5);
  await expect(expert.getByTestId("total")).toHaveText("5 meetings");
  await expect(row(expert, first).getByTestId("status")).toHaveAttribute("data-status",
                                                                         "AWAITING_APPROVAL");
});

test("confirm shows the conflict with an agreed meeting; the user's badge turns AGREED live",
     async () => {
  [second] = await book(user, slotA); // the same slot again: awaiting, so still offered
  await nav(user, "Sessions").click();
  await expect(row(user, second)).toBeVisible();
  const unread = Number(await user.getByTestId("unread-count").textContent());

  // A first: nothing agreed overlaps yet.
  await openMeeting(expert, first);
  await shot(expert, "details");
  await accessible(expert, "meeting details");
  await expert.getByRole("button", { name: "Confirm", exact: true }).click();
  const dialog = expert.getByTestId("confirm-dialog");
  await expect(dialog.getByText("No other agreed meeting at this time.")).toBeVisible();
  await submitUntilClosed(dialog, /^Confirm$/);
  await expect(row(user, first).getByTestId("status")).toHaveAttribute("data-status", "AGREED");
  // MEETING_CONFIRMED arrived live (a reminder may have come along with it).
  await expect.poll(async () => Number(await user.getByTestId("unread-count").textContent()))
    .toBeGreaterThan(unread);

  // B now overlaps the agreed A: the dialog says so before, the warning after.
  await openMeeting(expert, second);
  await expert.getByRole("button", { name: "Confirm", exact: true }).click();
  await expect(dialog.getByTestId("conflicts").getByRole("listitem")).toHaveCount(1);
  await expect(dialog.getByRole("alert")).toContainText("You already have an agreed meeting");
  await shot(expert, "confirm-dialog");
  await accessible(expert, "confirm dialog");
  await expert.keyboard.press("Escape"); // keyboard: Escape closes without acting…
  await expect(dialog).toHaveCount(0);
  await expect(row(user, second).getByTestId("status")).toHaveAttribute("data-status",
                                                                        "AWAITING_APPROVAL");
  await expert.getByRole("button", { name: "Confirm", exact: true }).focus();
  await expert.keyboard.press("Enter"); // …and Enter opens it again
  await submitUntilClosed(dialog, "Confirm anyway");
  const warning = expert.getByTestId("warnings");
  await expect(warning).toHaveAttribute("data-code", "TIME_CONFLICT");
  await expect(warning.getByRole("listitem")).toHaveCount(1);
  await expect(row(user, second).getByTestId("status")).toHaveAttribute("data-status", "AGREED");
});

test("decline with a reason returns the user's credits", async () => {
  const before = await credits(user);
  const [third] = await book(user, "last");
  await expect(user.getByTestId("credits")).toHaveText(creditsText([before[0] - 50, before[1] + 50]));
  await expect(user.getByTestId("credit-status")).toHaveText("Blocked");

  await openMeeting(expert, third);
  await expert.getByRole("button", { name: "Decline", exact: true }).click();
  const dialog = expert.getByTestId("reason-dialog");
  await dialog.getByRole("button", { name: "Decline" }).click(); // no reason chosen
  await expect(dialog.getByRole("alert").first()).toBeVisible();
  await dialog.getByLabel("I am not available at this time").check();
  await shot(expert, "decline-dialog");
  await accessible(expert, "decline dialog");
  await submitUntilClosed(dialog, "Decline");

  // The user's screen follows from the live event alone: status, credit status, balance.
  await expect(user.getByTestId("status")).toHaveAttribute("data-status", "REJECTED");
  await expect(user.getByTestId("credit-status")).toHaveText("Returned to the user");
  await expect(user.getByTestId("credits")).toHaveText(creditsText(before));
  await expect(user.getByTestId("timeline")).toContainText("I am not available at this time");
});

test("a late cancellation asks for the confirmation form", async () => {
  await openMeeting(user, first); // agreed, starts within 48 hours
  await user.getByRole("button", { name: "Cancel meeting" }).click();
  const dialog = user.getByTestId("cancel-dialog");
  const late = dialog.getByTestId("late-cancellation");
  await expect(late).toBeVisible();
  await dialog.getByLabel("Schedule conflict").check();
  // Not acknowledged: refused, the message beside the checkbox.
  await submitExpecting(dialog, "Cancel meeting",
                        late.locator("[data-code=LATE_CANCELLATION_NOT_ACKNOWLEDGED]"));
  await expect(user.getByTestId("status")).toHaveAttribute("data-status", "AGREED");
  await shot(user, "late-cancel-dialog");
  await accessible(user, "cancel dialog");
  await late.getByLabel("I confirm this late cancellation").check();
  await submitUntilClosed(dialog, "Cancel meeting");
  await expect(user.getByTestId("status")).toHaveAttribute("data-status", "CANCELLED");
});

test("a reschedule shows both dates on both sides until the user confirms", async () => {
  await openMeeting(expert, second);
  await openMeeting(user, second);
  await expert.getByRole("button", { name: "Propose new date" }).click();
  const dialog = expert.getByTestId("reschedule-dialog");
  const input = dialog.getByLabel(/New date and time/);
  const current = await input.inputValue(); // YYYY-MM-DDTHH:MM in the expert's zone
  const next = new Date(Date.parse(`${current}:00Z`) + 86400000).toISOString().slice(0, 16);
  await input.fill(next);
  await submitUntilClosed(dialog, "Propose new date");

  for (const page of [expert, user]) {
    await expect(page.getByTestId("current-date")).toContainText("still valid until the new date is confirmed");
    await expect(page.getByTestId("alternative-date")).toContainText("New date proposed by the expert");
  }
  await shot(user, "details-alternative");
  await accessible(user, "details with a pending date");

  await user.getByRole("button", { name: "Confirm new date" }).click();
  await submitUntilClosed(user.getByTestId("confirm-dialog"), /^Confirm/);
  for (const page of [expert, user]) {
    await expect(page.getByTestId("alternative-date")).toHaveCount(0);
    await expect(page.getByTestId("current-date")).not.toContainText("still valid");
    await expect(page.getByTestId("status")).toHaveAttribute("data-status", "AGREED");
  }
});

test("chat: a message and a proposal arrive live; the user answers the proposal", async () => {
  await openMeeting(expert, second);
  await expert.getByRole("button", { name: "Open chat" }).click();
  await expect(expert.getByLabel("Message")).toBeVisible();
  await nav(user, "Chat").click();
  await user.getByRole("link", { name: "Erika Expert" }).click();
  await expect(user.getByLabel("Message")).toBeVisible();

  await expert.getByLabel("Message").fill("Hello Uma, see you soon.");
  await expert.getByRole("button", { name: "Send" }).click();
  await expect(user.getByTestId("messages")).toContainText("Hello Uma, see you soon.");

  await expert.getByRole("button", { name: "Propose a meeting" }).click();
  const propose = expert.getByTestId("propose-dialog");
  await shot(expert, "propose-dialog");
  await accessible(expert, "propose dialog");
  await propose.getByRole("button", { name: "Send proposal" }).click();
  await expect(expert.getByTestId("meeting-details")).toBeVisible();
  const proposal = user.locator("[data-testid=messages] li[data-kind=MEETING_PROPOSAL]");
  await expect(proposal).toHaveCount(1);
  await shot(user, "chat");
  await accessible(user, "chat");
  await proposal.getByRole("link").click();
  proposed = (await user.getByTestId("meeting-details").getAttribute("data-meeting-id"))!;
  await user.getByRole("button", { name: "Confirm", exact: true }).click();
  await submitUntilClosed(user.getByTestId("confirm-dialog"), /^Confirm/);
  await expect(user.getByTestId("status")).toHaveAttribute("data-status", "AGREED");
  await expect(expert.getByTestId("status")).toHaveAttribute("data-status", "AGREED");
});

test("the user proposes another date and withdraws it", async () => {
  await expect(expert.getByTestId("meeting-details")).toHaveAttribute("data-meeting-id", proposed);
  // A free slot of the expert's, as the API computes it, written as the user's wall time.
  const { experts } = await trusted(user, "Experts");
  const from = new Date(Date.now() + 2 * 86400000);
  const { expertFreeSlots } = await trusted(user, "FreeSlots", {
    expertId: experts[0].id, from: from.toISOString(),
    to: new Date(from.getTime() + 3 * 86400000).toISOString(), lengthMinutes: 60 });
  const wall = (instant: number) => {
    const parts = Object.fromEntries(new Intl.DateTimeFormat("en-CA", {
      timeZone: "America/New_York", hourCycle: "h23", year: "numeric", month: "2-digit",
      day: "2-digit", hour: "2-digit", minute: "2-digit" })
      .formatToParts(new Date(instant)).map((p) => [p.type, p.value]));
    return `${parts.year}-${parts.month}-${parts.day}T${parts.hour}:${parts.minute}`;
  };
  const slot = Date.parse(expertFreeSlots[0].startsAt);
  await user.getByRole("button", { name: "Propose new date" }).click();
  const dialog = user.getByTestId("reschedule-dialog");
  // 11 hours before a slot of 08:00–18:00 UTC is outside the expert's free time: refused,
  // and the message stands next to the date.
  await dialog.getByLabel(/New date and time/).fill(wall(slot - 11 * 3600000));
  await submitExpecting(dialog, "Propose new date",
                        dialog.locator("#new-date-error[data-code=OUTSIDE_AVAILABILITY]"));
  await dialog.getByLabel(/New date and time/).fill(wall(slot));
  await submitUntilClosed(dialog, "Propose new date");
  for (const page of [expert, user]) {
    await expect(page.getByTestId("alternative-date")).toContainText("New date proposed by the user");
    await expect(page.getByTestId("current-date")).toContainText("still valid");
  }
  await expect(expert.getByRole("button", { name: "Confirm new date" })).toBeVisible();
  await expect(expert.getByRole("button", { name: "Reject new date" })).toBeVisible();

  await user.getByRole("button", { name: "Withdraw new date" }).click();
  await submitUntilClosed(user.getByTestId("withdraw-dialog"), "Withdraw new date");
  for (const page of [expert, user]) {
    await expect(page.getByTestId("alternative-date")).toHaveCount(0);
  }
});

test("notifications: listed, counted live, marked read", async () => {
  // The system keeps sending notifications (reminders), so the count is compared with the
  // API's own, asked with the page's token.
  const serverUnread = async () =>
    (await trusted(user, "Notifications")).notifications.unreadCount as number;
  const shown = async () => Number(await user.getByTestId("unread-count").textContent());
  await nav(user, /Notifications/).click();
  const total = user.getByTestId("unread-total");
  await expect.poll(async () => (await shown()) === (await serverUnread())).toBe(true);
  expect(await shown()).toBeGreaterThan(0);
  await shot(user, "notifications");
  await accessible(user, "notifications");

  const item = user.locator("[data-testid=notifications] li.unread").first();
  const id = (await item.getAttribute("data-id"))!;
  await item.getByRole("button", { name: /Mark read/ }).click();
  await expect(user.locator(`[data-testid=notifications] li[data-id="${id}"]`))
    .toHaveAttribute("data-read", "true");
  await expect.poll(async () => (await shown()) === (await serverUnread())).toBe(true);
  await expect.poll(async () => Number(await total.textContent())).toBe(await shown());

  await user.getByRole("button", { name: "Mark all read" }).click();
  await expect(user.getByTestId("unread-count")).toHaveText("0");
  await expect(user.locator("[data-testid=notifications] li.unread")).toHaveCount(0);
});

test("editing a weekly rule changes the slot preview", async () => {
  await nav(expert, "Free dates").click();
  const preview = expert.locator("[data-testid=slot-preview] .slot");
  await expect(preview.first()).toBeVisible();
  const before = await preview.count();
  await shot(expert, "free-dates");
  await accessible(expert, "free dates");

  const rules = expert.getByTestId("rule");
  await expect(rules).toHaveCount(7);
  await expert.getByLabel("Rule 1 to").fill("25:00"); // refused, next to its field
  await expert.getByRole("button", { name: "Save weekly rules" }).click();
  await expect(rules.first().getByRole("alert")).toBeVisible();
  for (let i = 1; i <= 7; i += 1) await expert.getByLabel(`Rule ${i} to`).fill("12:00");
  await expert.getByRole("button", { name: "Save weekly rules" }).click();
  await expect(expert.getByRole("status")).toHaveText("Saved.");
  await expect(rules.first().getByRole("alert")).toHaveCount(0);
  await expect.poll(() => preview.count()).toBeLessThan(before);
  // 08:00–12:00 UTC: no slot starts at noon UTC or later any more.
  const starts = await preview.evaluateAll((nodes) => nodes.map((n) => n.getAttribute("data-slot")!));
  expect(starts.every((s) => new Date(s).getUTCHours() < 12)).toBe(true);

  // A blocked day takes its slots out of the preview; removing it brings them back.
  const after = await preview.count();
  const day = new Date(Date.now() + 2 * 86400000).toISOString().slice(0, 10);
  const next = new Date(Date.now() + 3 * 86400000).toISOString().slice(0, 10);
  const blocked = expert.getByTestId("blocked-dates");
  await blocked.getByLabel(/From/).fill(`${next}T00:00`); // the end before the start: refused
  await blocked.getByLabel(/^To$/).fill(`${day}T00:00`);
  await blocked.getByRole("button", { name: "Add" }).click();
  await expect(blocked.locator("[data-code=INVALID_INPUT]")).toBeVisible();
  await blocked.getByLabel(/From/).fill(`${day}T00:00`);
  await blocked.getByLabel(/^To$/).fill(`${next}T00:00`);
  await blocked.getByRole("button", { name: "Add" }).click();
  await expect(blocked.getByRole("listitem")).toHaveCount(1);
  await expect.poll(() => preview.count()).toBeLessThan(after);
  await blocked.getByRole("button", { name: /Remove/ }).click();
  await expect(blocked.getByRole("listitem")).toHaveCount(0);
  await expect.poll(() => preview.count()).toBe(after);
});

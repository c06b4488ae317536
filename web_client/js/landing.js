// Entry point of index.html: start a new meeting (POST /api/v1/meetings, then
// its host link) or join one by ID or link.

import { errorText, t, translate } from "./i18n.js";
import { cleanName, isValidRoom } from "./protocol.js";
import { languageSwitch } from "./ui/language_switch.js";

const NAME_KEY = "conf.display-name";
const ROOM_ALPHABET = "abcdefghijkmnopqrstuvwxyz"; // no "l": easy to read aloud
/** How long the error stays readable before the random-room fallback opens. */
const FALLBACK_DELAY_MS = 2500;

/**
 * A random, readable room ID such as "kfp-wqzm-tcr" (about 47 bits).
 * @returns {string}
 */
export function randomRoomId() {
  const bytes = new Uint8Array(10);
  crypto.getRandomValues(bytes);
  const letters = [...bytes].map((b) => ROOM_ALPHABET[b % ROOM_ALPHABET.length]).join("");
  return `${letters.slice(0, 3)}-${letters.slice(3, 7)}-${letters.slice(7, 10)}`;
}

/**
 * The room named by what a person typed: an ID, or a link to /r/{room}.
 * @param {string} text
 * @returns {string | null}
 */
export function roomFromInput(text) {
  const value = text.trim();
  const link = /\/r\/([^/?#\s]+)/.exec(value);
  let room = link ? link[1] : value;
  try {
    room = decodeURIComponent(room);
  } catch {
    return null;
  }
  return isValidRoom(room) ? room : null;
}

/**
 * @param {string} room
 * @param {string} name
 */
function meetingUrl(room, name) {
  return `/r/${encodeURIComponent(room)}?${new URLSearchParams({ name })}`;
}

/**
 * The page to open after "Start a meeting": the new meeting's host link with
 * our name added.
 * @param {string} hostUrl `host_url` of the POST /api/v1/meetings answer
 * @param {string} name
 */
export function hostPageUrl(hostUrl, name) {
  const url = new URL(hostUrl, location.origin);
  url.searchParams.set("name", name);
  return url.href;
}

/**
 * Create a meeting on the server; we are its host.
 * @returns {Promise<{meeting_id: string, room: string, host_key: string, host_url: string, join_url: string}>}
 * @throws {Error} with a message a person understands
 */
export async function createMeeting() {
  let response;
  try {
    response = await fetch("/api/v1/meetings", {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: "{}",
    });
  } catch {
    throw new Error(t("landing.unreachable"));
  }
  /** @type {any} */
  let body = null;
  try {
    body = await response.json();
  } catch {
    // not JSON: explained below
  }
  if (!response.ok) {
    const reason = body?.error
      ? errorText(body.error.code, body.error.message)
      : t("landing.http_status", { status: String(response.status) });
    throw new Error(t("landing.create_failed", { reason }));
  }
  if (!body || typeof body.host_url !== "string") throw new Error(t("landing.no_link"));
  return body;
}

/**
 * @param {HTMLFormElement} form
 * @param {string} message
 */
function showError(form, message) {
  const el = /** @type {HTMLElement} */ (form.querySelector(".form-error"));
  el.textContent = message;
}

/**
 * Offer a plain room link when the meeting could not be created.
 * @param {HTMLFormElement} form
 * @param {string} url
 */
function showFallback(form, url) {
  form.querySelector(".fallback-link")?.remove();
  const link = document.createElement("a");
  link.className = "fallback-link";
  link.href = url;
  link.dataset.testid = "start-fallback-link";
  link.textContent = t("landing.open_now");
  form.append(link);
}

/** @param {HTMLFormElement} form */
function readName(form) {
  const input = /** @type {HTMLInputElement} */ (form.elements.namedItem("name"));
  const name = cleanName(input.value);
  if (!name) {
    showError(form, t("common.name_required"));
    input.focus();
    return null;
  }
  try {
    localStorage.setItem(NAME_KEY, name);
  } catch {
    // private mode: nothing to remember
  }
  return name;
}

function main() {
  translate(document);
  document.querySelector(".landing-header")?.append(languageSwitch("landing-language"));
  const start = /** @type {HTMLFormElement} */ (document.getElementById("start-form"));
  const join = /** @type {HTMLFormElement} */ (document.getElementById("join-form"));
  let stored = "";
  try {
    stored = localStorage.getItem(NAME_KEY) ?? "";
  } catch {
    // ignore
  }
  for (const form of [start, join]) {
    const input = /** @type {HTMLInputElement} */ (form.elements.namedItem("name"));
    input.value = stored;
    form.addEventListener("input", () => {
      showError(form, "");
      form.querySelector(".fallback-link")?.remove();
    });
  }

  const startButton = /** @type {HTMLButtonElement} */ (start.querySelector('[data-testid="start-button"]'));
  start.addEventListener("submit", (event) => {
    event.preventDefault();
    const name = readName(start);
    if (!name || startButton.disabled) return;
    startButton.disabled = true;
    startButton.textContent = t("landing.starting");
    createMeeting().then(
      (meeting) => location.assign(hostPageUrl(meeting.host_url, name)),
      (/** @type {Error} */ error) => {
        // Still possible without the API: a fresh room link (the first to join is host).
        const fallback = meetingUrl(randomRoomId(), name);
        showError(start, `${error.message} ${t("landing.fallback")}`);
        showFallback(start, fallback);
        setTimeout(() => location.assign(fallback), FALLBACK_DELAY_MS);
      },
    );
  });

  join.addEventListener("submit", (event) => {
    event.preventDefault();
    const roomInput = /** @type {HTMLInputElement} */ (join.elements.namedItem("room"));
    const room = roomFromInput(roomInput.value);
    if (!room) {
      showError(join, t("landing.room_required"));
      roomInput.focus();
      return;
    }
    const name = readName(join);
    if (name) location.assign(meetingUrl(room, name));
  });

  (stored ? /** @type {HTMLElement} */ (start.querySelector("button")) : /** @type {HTMLInputElement} */ (start.elements.namedItem("name"))).focus();
}

if (typeof document !== "undefined") main();

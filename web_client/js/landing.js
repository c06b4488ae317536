// Entry point of index.html: start a new meeting or join one by ID or link.

import { cleanName, isValidRoom } from "./protocol.js";

const NAME_KEY = "conf.display-name";
const ROOM_ALPHABET = "abcdefghijkmnopqrstuvwxyz"; // no "l": easy to read aloud

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
 * @param {HTMLFormElement} form
 * @param {string} message
 */
function showError(form, message) {
  const el = /** @type {HTMLElement} */ (form.querySelector(".form-error"));
  el.textContent = message;
}

/** @param {HTMLFormElement} form */
function readName(form) {
  const input = /** @type {HTMLInputElement} */ (form.elements.namedItem("name"));
  const name = cleanName(input.value);
  if (!name) {
    showError(form, "Enter your name (1 to 64 characters) so the others know who you are.");
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
    form.addEventListener("input", () => showError(form, ""));
  }

  start.addEventListener("submit", (event) => {
    event.preventDefault();
    const name = readName(start);
    if (name) location.assign(meetingUrl(randomRoomId(), name));
  });

  join.addEventListener("submit", (event) => {
    event.preventDefault();
    const roomInput = /** @type {HTMLInputElement} */ (join.elements.namedItem("room"));
    const room = roomFromInput(roomInput.value);
    if (!room) {
      showError(join, "Enter a meeting ID (letters, digits, _ and -) or paste the meeting link.");
      roomInput.focus();
      return;
    }
    const name = readName(join);
    if (name) location.assign(meetingUrl(room, name));
  });

  (stored ? /** @type {HTMLElement} */ (start.querySelector("button")) : /** @type {HTMLInputElement} */ (start.elements.namedItem("name"))).focus();
}

if (typeof document !== "undefined") main();

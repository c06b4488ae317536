// Entry point of share.html (GET /s/<share id>): a recording someone shared
// with a password. The page asks whether the link is still good, then for the
// password; a right one earns an HttpOnly session cookie scoped to this
// share's routes (conf_server/http/share_access.py), so the <video> and the
// transcript requests carry it by themselves. Nothing is kept in storage.
// Every string comes from the catalogs (js/i18n.js: share.*, error.*).

import { errorText as catalogError, formatDateTime, formatTime, setText, t, translate } from "./i18n.js";

/** @typedef {{vtt: string, txt: string, json: string}} TranscriptUrls */
/**
 * @typedef {object} Session
 * @property {string | null} title
 * @property {number | null} started_at
 * @property {string} video_url
 * @property {TranscriptUrls | null} transcript
 * @property {number} session_expires_at
 */

/** Codes after which asking for the password again makes no sense. */
const FINAL = new Set(["share_not_found", "share_expired", "share_revoked"]);

/**
 * @template {HTMLElement} T
 * @param {string} selector
 * @returns {T}
 */
function $(selector) {
  const el = document.querySelector(selector);
  if (!el) throw new Error(`share.html lacks ${selector}`);
  return /** @type {T} */ (el);
}

/** The share id of this page's address, or "" for an address that has none. */
export function shareIdOf(pathname) {
  const match = /^\/s\/([A-Za-z0-9_.-]{1,128})$/.exec(pathname);
  return match ? match[1] : "";
}

/**
 * The message for an error answer of the share routes.
 * @param {number} status @param {{error?: {code?: string, message?: string, retry_after?: number}}} body
 */
export function errorText(status, body) {
  const error = body?.error ?? {};
  if (status === 429) {
    const seconds = Math.max(1, Math.ceil(error.retry_after ?? 60));
    return t("error.rate_limited_wait", { seconds });
  }
  return catalogError(error.code, error.message, {});
}

/** @param {Response} response */
async function bodyOf(response) {
  try {
    return await response.json();
  } catch {
    return {};
  }
}

class SharePage {
  /** @param {string} shareId */
  constructor(shareId) {
    this.shareId = shareId;
    this.base = `/api/v1/shares/${encodeURIComponent(shareId)}`;
    this.error = $("[data-testid=share-error]");
    this.form = /** @type {HTMLFormElement} */ ($("#password-form"));
    this.input = /** @type {HTMLInputElement} */ ($("[data-testid=share-password-input]"));
    this.button = /** @type {HTMLButtonElement} */ ($("[data-testid=share-open-button]"));
    this.form.addEventListener("submit", (event) => {
      event.preventDefault();
      void this.open();
    });
  }

  /** @param {string} text @param {string} code */
  showError(text, code = "") {
    this.error.textContent = text;
    this.error.dataset.code = code;
    this.error.hidden = !text;
  }

  /** Is the link still good? Then ask for the password. */
  async start() {
    if (!this.shareId) {
      this.showError(catalogError("share_not_found"), "share_not_found");
      return;
    }
    const response = await fetch(this.base, { cache: "no-store" });
    if (!response.ok) {
      const body = await bodyOf(response);
      this.showError(errorText(response.status, body), body?.error?.code ?? "");
      return;
    }
    this.form.hidden = false;
    this.input.focus();
  }

  async open() {
    this.button.disabled = true;
    try {
      const response = await fetch(`${this.base}/session`, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ password: this.input.value }),
      });
      const body = await bodyOf(response);
      if (!response.ok) {
        const code = body?.error?.code ?? "";
        this.showError(errorText(response.status, body), code);
        if (FINAL.has(code)) this.form.hidden = true;
        this.input.select();
        return;
      }
      this.showError("");
      this.form.hidden = true;
      this.input.value = "";
      await this.play(/** @type {Session} */ (body));
    } catch {
      this.showError(t("share.unreachable"));
    } finally {
      this.button.disabled = false;
    }
  }

  /** @param {Session} session */
  async play(session) {
    const heading = $("#share-title");
    if (session.title) {
      delete heading.dataset.i18n; // a name, not a message: kept in every language
      heading.textContent = session.title;
      document.title = session.title;
    }
    const intro = $("#share-intro");
    if (session.started_at) setText(intro, "share.recorded_at", { time: formatDateTime(session.started_at * 1000) });
    else setText(intro, "share.intro");
    const video = /** @type {HTMLVideoElement} */ ($("#video"));
    video.addEventListener("error", () => void this.videoFailed(session.video_url));
    if (session.transcript) {
      const track = document.createElement("track");
      track.kind = "subtitles";
      track.label = t("share.transcript_track");
      track.srclang = document.documentElement.lang || "en"; // the transcript's own language is not known here
      track.src = session.transcript.vtt;
      track.default = true;
      video.append(track);
    }
    video.src = session.video_url;
    setText($("#expiry"), "share.session_ends", { time: formatTime(session.session_expires_at * 1000) });
    $("#player").hidden = false;
    if (session.transcript) await this.showTranscript(session.transcript.txt);
  }

  /** Why the video did not load, in the page's words. @param {string} url */
  async videoFailed(url) {
    const response = await fetch(url, { headers: { Range: "bytes=0-0" } });
    if (!response.ok) this.showError(errorText(response.status, await bodyOf(response)));
  }

  /** @param {string} url */
  async showTranscript(url) {
    const response = await fetch(url, { cache: "no-store" });
    if (!response.ok) return;
    $("#transcript-text").textContent = await response.text();
    $("#transcript").hidden = false;
  }
}

if (typeof document !== "undefined" && document.querySelector("#password-form")) {
  translate(document);
  void new SharePage(shareIdOf(location.pathname)).start();
}

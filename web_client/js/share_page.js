// Entry point of share.html (GET /s/<share id>): a recording someone shared
// with a password. The page asks whether the link is still good, then for the
// password; a right one earns an HttpOnly session cookie scoped to this
// share's routes (conf_server/http/share_access.py), so the <video> and the
// transcript requests carry it by themselves. Nothing is kept in storage.

/** @typedef {{vtt: string, txt: string, json: string}} TranscriptUrls */
/**
 * @typedef {object} Session
 * @property {string | null} title
 * @property {number | null} started_at
 * @property {string} video_url
 * @property {TranscriptUrls | null} transcript
 * @property {number} session_expires_at
 */

/** What the page says for the stable error codes of the share routes. */
const MESSAGES = {
  share_not_found: "This link does not exist. Check that you copied all of it.",
  share_expired: "This link has expired. Ask the person who sent it for a new one.",
  share_revoked: "This link was revoked. Ask the person who sent it for a new one.",
  wrong_password: "That password is not right.",
  share_session_required: "Your session has ended. Enter the password again.",
  video_not_ready: "The video is still being made. Try again in a few minutes.",
  no_video: "This recording has no video.",
};

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
    return `Too many wrong passwords. Try again in ${seconds} s.`;
  }
  return MESSAGES[error.code ?? ""] ?? error.message ?? `The server answered ${status}.`;
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
      this.showError(MESSAGES.share_not_found, "share_not_found");
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
      this.showError("The server could not be reached. Check your connection and try again.");
    } finally {
      this.button.disabled = false;
    }
  }

  /** @param {Session} session */
  async play(session) {
    const title = session.title || "Shared recording";
    $("#share-title").textContent = title;
    document.title = title;
    $("#share-intro").textContent = session.started_at
      ? `Recorded ${new Date(session.started_at * 1000).toLocaleString()}.`
      : "";
    const video = /** @type {HTMLVideoElement} */ ($("#video"));
    video.addEventListener("error", () => void this.videoFailed(session.video_url));
    if (session.transcript) {
      const track = document.createElement("track");
      track.kind = "subtitles";
      track.label = "Transcript";
      track.srclang = document.documentElement.lang || "en";
      track.src = session.transcript.vtt;
      track.default = true;
      video.append(track);
    }
    video.src = session.video_url;
    $("#expiry").textContent =
      `This viewing session ends at ${new Date(session.session_expires_at * 1000).toLocaleTimeString()}.`;
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
  void new SharePage(shareIdOf(location.pathname)).start();
}

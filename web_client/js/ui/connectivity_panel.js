// The pre-join screen's "Check connection": runs connectivity_check.js and
// shows one row per path in words a person can act on, and a one-line summary
// in a live region. Every text is in TEXT below (for translation).

import {
  CHECK_NAMES,
  CHECK_TIMEOUT_MS,
  IceServersUnavailable,
  fetchIceServers,
  runConnectivityCheck,
  verdict,
} from "../connectivity_check.js";
import { h } from "./dom.js";

/** @typedef {import("../connectivity_check.js").CheckName} CheckName */
/** @typedef {import("../connectivity_check.js").CheckResult} CheckResult */

/** Every string the panel shows, in one place. */
export const TEXT = {
  title: "Connection check",
  intro: "Find out whether your network lets meeting video through.",
  button: "Check connection",
  again: "Check again",
  busy: "Checking…",
  running: (/** @type {number} */ seconds) => `Checking your connection (up to ${seconds} seconds)…`,
  /** @type {Record<CheckName, string>} */
  check: {
    udp: "Video over UDP",
    "turn-udp": "Relay over UDP",
    "turn-tcp": "Relay over TCP",
    "turn-tls": "Relay over TLS",
  },
  port: (/** @type {number} */ port) => `port ${port}`,
  status: {
    checking: "checking…",
    ok: "works",
    failed: "blocked — ask your IT to allow it or use another network",
    "not-configured": "not offered by this server",
  },
  summary: {
    direct: "Your network can join meetings.",
    relay: "Your network can join meetings through the relay (UDP is blocked, so video may lag a little more).",
    blocked: "Your network blocks every path the meeting uses. Ask your IT to allow them or use another network.",
    untested: "This server offers no STUN or TURN server to test against; meetings connect to it directly.",
  },
  unavailable: (/** @type {string} */ why) => `The check could not start: ${why}.`,
  retryIn: (/** @type {number} */ seconds) => ` Try again in ${Math.max(1, Math.ceil(seconds))} s.`,
};

export class ConnectivityPanel {
  /**
   * Builds the panel inside `root` (an empty element of room.html).
   * @param {HTMLElement} root
   */
  constructor(root) {
    this.root = root;
    this.button = /** @type {HTMLButtonElement} */ (
      h("button.secondary", { type: "button", "data-testid": "connectivity-check-button", text: TEXT.button })
    );
    // The summary is the live region: one sentence when the check starts and
    // one when it ends; the rows change quietly (four announcements at once
    // would drown each other).
    this.summary = h("p.connectivity-summary", { "data-testid": "connectivity-summary", role: "status", "aria-live": "polite" });
    this.list = h("ul.connectivity-results", { "data-testid": "connectivity-results", "aria-label": TEXT.title });
    this.list.hidden = true;
    root.setAttribute("aria-labelledby", "connectivity-title");
    root.replaceChildren(
      h("h2.connectivity-title", { id: "connectivity-title", text: TEXT.title }),
      h("p.connectivity-intro", { text: TEXT.intro }),
      this.button,
      this.summary,
      this.list,
    );
    this.button.addEventListener("click", () => void this.run());
  }

  /** Run the check once (the button does this). */
  async run() {
    if (this.button.disabled) return;
    this.button.disabled = true;
    this.button.textContent = TEXT.busy;
    this.root.setAttribute("aria-busy", "true");
    this.summary.textContent = TEXT.running(Math.round(CHECK_TIMEOUT_MS / 1000));
    this.root.dataset.verdict = "";
    try {
      const iceServers = await fetchIceServers();
      this.list.replaceChildren(...CHECK_NAMES.map((check) => this._row(check)));
      this.list.hidden = false;
      const results = await runConnectivityCheck(iceServers, { onResult: (result) => this._show(result) });
      const outcome = verdict(results);
      this.root.dataset.verdict = outcome;
      this.summary.textContent = TEXT.summary[outcome];
    } catch (error) {
      const why = error instanceof Error ? error.message : String(error);
      const retry = error instanceof IceServersUnavailable && error.retryAfter !== null ? TEXT.retryIn(error.retryAfter) : "";
      this.summary.textContent = TEXT.unavailable(why) + retry;
      this.list.hidden = true;
    } finally {
      this.button.disabled = false;
      this.button.textContent = TEXT.again;
      this.root.removeAttribute("aria-busy");
    }
  }

  /**
   * A row still checking.
   * @param {CheckName} check
   * @returns {HTMLElement}
   * @private
   */
  _row(check) {
    return h(
      "li.connectivity-result",
      { "data-testid": "connectivity-result", "data-check": check, "data-status": "checking" },
      h("span.connectivity-dot", { "aria-hidden": "true" }),
      h(
        "span",
        {},
        h("span.connectivity-label", { text: TEXT.check[check] }),
        h("span.connectivity-text", { text: `: ${TEXT.status.checking}` }),
      ),
    );
  }

  /**
   * @param {CheckResult} result
   * @private
   */
  _show(result) {
    const row = /** @type {HTMLElement | null} */ (this.list.querySelector(`[data-check="${result.check}"]`));
    if (!row) return;
    row.dataset.status = result.status;
    // The relay's port is what IT has to open; a STUN server's port says nothing
    // about the meeting's own UDP ports.
    const port = result.check !== "udp" && result.port ? ` (${TEXT.port(result.port)})` : "";
    const label = TEXT.check[result.check] + port;
    /** @type {HTMLElement} */ (row.querySelector(".connectivity-label")).textContent = label;
    /** @type {HTMLElement} */ (row.querySelector(".connectivity-text")).textContent = `: ${TEXT.status[result.status]}`;
    // What the browser saw, for whoever helps (IT, the operator): a tooltip.
    row.title = result.detail ? `${result.url}: ${result.detail}` : (result.url ?? "");
  }
}

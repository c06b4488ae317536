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
import { t } from "../i18n.js";
import { h } from "./dom.js";

/** @typedef {import("../connectivity_check.js").CheckName} CheckName */
/** @typedef {import("../connectivity_check.js").CheckResult} CheckResult */

/** Every string the panel shows, in one place (from the catalogs, `connectivity.*`). */
export const TEXT = {
  get title() { return t("connectivity.title"); },
  get intro() { return t("connectivity.intro"); },
  get button() { return t("connectivity.button"); },
  get again() { return t("connectivity.again"); },
  get busy() { return t("connectivity.busy"); },
  running: (/** @type {number} */ seconds) => t("connectivity.running", { seconds }),
  /** @type {Record<CheckName, string>} */
  check: {
    get udp() { return t("connectivity.check_udp"); },
    get "turn-udp"() { return t("connectivity.check_turn_udp"); },
    get "turn-tcp"() { return t("connectivity.check_turn_tcp"); },
    get "turn-tls"() { return t("connectivity.check_turn_tls"); },
  },
  port: (/** @type {number} */ port) => t("connectivity.port", { port: String(port) }),
  status: {
    get checking() { return t("connectivity.status_checking"); },
    get ok() { return t("connectivity.status_ok"); },
    get failed() { return t("connectivity.status_failed"); },
    get "not-configured"() { return t("connectivity.status_not_configured"); },
  },
  summary: {
    get direct() { return t("connectivity.summary_direct"); },
    get relay() { return t("connectivity.summary_relay"); },
    get blocked() { return t("connectivity.summary_blocked"); },
    get untested() { return t("connectivity.summary_untested"); },
  },
  unavailable: (/** @type {string} */ why) => t("connectivity.unavailable", { why }),
  retryIn: (/** @type {number} */ seconds) => ` ${t("connectivity.retry_in", { seconds: Math.max(1, Math.ceil(seconds)) })}`,
};

export class ConnectivityPanel {
  /**
   * Builds the panel inside `root` (an empty element of room.html).
   * @param {HTMLElement} root
   */
  constructor(root) {
    this.root = root;
    this.button = /** @type {HTMLButtonElement} */ (
      h("button.secondary", { type: "button", "data-testid": "connectivity-check-button", i18n: "connectivity.button" })
    );
    // The summary is the live region: one sentence when the check starts and
    // one when it ends; the rows change quietly (four announcements at once
    // would drown each other).
    this.summary = h("p.connectivity-summary", { "data-testid": "connectivity-summary", role: "status", "aria-live": "polite" });
    this.list = h("ul.connectivity-results", { "data-testid": "connectivity-results", "aria-label": TEXT.title });
    this.list.hidden = true;
    root.setAttribute("aria-labelledby", "connectivity-title");
    root.replaceChildren(
      h("h2.connectivity-title", { id: "connectivity-title", i18n: "connectivity.title" }),
      h("p.connectivity-intro", { i18n: "connectivity.intro" }),
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
      // The sentence ends here, not in the reason (the catalog's messages end with a period).
      const why = (error instanceof Error ? error.message : String(error)).replace(/\.\s*$/u, "");
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

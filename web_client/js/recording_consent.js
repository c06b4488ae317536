// Recording notice: someone who joins a meeting that is being recorded is told
// before their camera and microphone are published, and publishes only after
// "Continue" (docs/protocol.md: the join acknowledgement's `recording`).
// DOM-free: the view listens to `ask` / `settled` and calls `accept` / `decline`.

/** @typedef {import("./session.js").MeetingSession} MeetingSession */

/**
 * Events (CustomEvent, detail in braces):
 * - `ask` {}: the meeting is being recorded; nothing is published until `accept()`
 * - `settled` {agreed}: the question is over (accepted, declined, left, or recording stopped)
 * - `started` {recording, by}: recording started while we were already in the
 *   meeting and publishing (tell the person; nothing is held back)
 */
export class RecordingConsent extends EventTarget {
  /**
   * @param {MeetingSession} session
   * @param {{ask?: boolean}} [options] ask: false (a room device nobody answers
   *   for) publishes at once and is only told
   */
  constructor(session, { ask = true } = {}) {
    super();
    this._session = session;
    this._ask = ask;
    /** @type {string | null} the meeting whose recording this person was told about */
    this._toldFor = null;
    /** @type {{promise: Promise<boolean>, resolve: (agreed: boolean) => void} | null} */
    this._pending = null;
    session.publishGate = () => this._gate();
    const i = session.interaction;
    i.addEventListener("recording", (event) => {
      const { recording, previous, by } = /** @type {CustomEvent} */ (event).detail;
      if (!recording) {
        if (this._pending) this._settle(true); // nothing is recorded any more: no need to ask
        return;
      }
      if (this._pending || previous) return;
      this._toldFor = i.meetingId;
      this._emit("started", { recording, by });
    });
    session.addEventListener("state", (event) => {
      const { state } = /** @type {CustomEvent} */ (event).detail;
      if (this._pending && state !== "joined" && state !== "reconnecting") this._settle(false);
    });
  }

  /** True while the person is being asked (nothing of theirs is published). */
  get pending() {
    return this._pending !== null;
  }

  /** "Continue": publish. */
  accept() {
    if (!this._pending) return;
    this._toldFor = this._session.interaction.meetingId;
    this._settle(true);
  }

  /** "Leave": publish nothing and leave the meeting. */
  decline() {
    if (this._pending) this._settle(false);
    void this._session.leave();
  }

  /**
   * Called by the session after each join, before it publishes.
   * @returns {Promise<boolean>} true: publish
   * @private
   */
  _gate() {
    const i = this._session.interaction;
    if (!i.recording || this._toldFor === i.meetingId) return Promise.resolve(true);
    if (!this._ask) {
      this._toldFor = i.meetingId;
      this._emit("started", { recording: i.recording, by: null });
      return Promise.resolve(true);
    }
    if (this._pending) return this._pending.promise; // joined again while asking
    /** @type {(agreed: boolean) => void} */
    let resolve = () => {};
    const promise = new Promise((r) => (resolve = r));
    this._pending = { promise, resolve };
    this._emit("ask", {});
    return promise;
  }

  /**
   * @param {boolean} agreed
   * @private
   */
  _settle(agreed) {
    const pending = this._pending;
    if (!pending) return;
    this._pending = null;
    pending.resolve(agreed);
    this._emit("settled", { agreed });
  }

  /**
   * @param {string} type
   * @param {object} detail
   * @private
   */
  _emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }
}

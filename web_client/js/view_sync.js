// Tells the server whose video this client shows (`set_view`, docs/protocol.md),
// so it forwards only that: the tiles of the current gallery page, the pinned
// tile and the spotlighted person. DOM-free. A change is sent at once (the new
// page's video should show fast), further changes within the next few tens of
// milliseconds are folded into one; a list equal to the one the server has is
// not sent again, and after every (re)join the list is sent afresh (the server
// forgets it with the old session).

/** @typedef {(participantIds: string[]) => Promise<unknown>} SendView */

/** At most one `set_view` this often (paging fast sends the last page, not every one). */
export const VIEW_DEBOUNCE_MS = 60;

/** The server takes at most this many ids in one `set_view`. */
const MAX_VIEW = 100;

export class ViewSync {
  /**
   * @param {SendView} send sends `set_view` and resolves on its acknowledgement
   * @param {{delayMs?: number}} [options]
   */
  constructor(send, { delayMs = VIEW_DEBOUNCE_MS } = {}) {
    this._send = send;
    this._delayMs = delayMs;
    /** @type {string[] | null} what we want the server to have */
    this.wanted = null;
    /** @type {string | null} what the server has (sorted ids, as JSON), as far as we know */
    this._sent = null;
    this._sending = false;
    this._again = false;
    /** @type {ReturnType<typeof setTimeout> | undefined} a send that is due */
    this._timer = undefined;
    /** when the last send was started (ms) */
    this._lastSend = -Infinity;
    this.enabled = false;
    /** counts joins, so an answer from before the latest join is not taken for the current one */
    this._epoch = 0;
  }

  /**
   * The participants whose video we show now.
   * @param {string[]} participantIds
   */
  update(participantIds) {
    this.wanted = [...new Set(participantIds)].slice(0, MAX_VIEW);
    this._schedule();
  }

  /**
   * We are in a room now (a fresh join or a resume): the server knows no view.
   * Until then nothing is sent.
   */
  joined() {
    this.enabled = true;
    this._epoch += 1;
    this._sent = null;
    this._schedule();
  }

  /** Out of the room (left, reconnecting, …): send nothing until `joined()`. */
  left() {
    this.enabled = false;
    this._epoch += 1;
    this._sent = null;
    clearTimeout(this._timer);
    this._timer = undefined;
  }

  /** @private */
  _schedule() {
    // A send that is due already takes the latest list.
    if (!this.enabled || this.wanted === null || this._timer !== undefined) return;
    const wait = Math.max(0, this._lastSend + this._delayMs - Date.now());
    this._timer = setTimeout(() => {
      this._timer = undefined;
      this._lastSend = Date.now();
      void this._flush();
    }, wait);
  }

  /** @private */
  async _flush() {
    if (this._sending) {
      this._again = true;
      return;
    }
    const ids = this.wanted;
    if (!this.enabled || ids === null) return;
    const signature = JSON.stringify([...ids].sort());
    if (signature === this._sent) return;
    this._sending = true;
    const epoch = this._epoch;
    try {
      await this._send(ids);
      if (epoch === this._epoch) this._sent = signature;
    } catch (error) {
      // Out of the room right now (the connection dropped): `joined()` sends it again.
      if (!(/** @type {{transient?: boolean}} */ (error)?.transient)) console.warn("set_view refused:", error);
    } finally {
      this._sending = false;
      if (this._again || epoch !== this._epoch) {
        this._again = false;
        void this._flush();
      }
    }
  }
}

// Screen-reader announcements of what happens in a meeting (issue 19): someone
// joining or leaving, a hand called (your own: assertive, it asks you to speak
// now), a poll opened. Two visually hidden live regions, polite and assertive;
// the recording's start and stop are announced by the recording indicator's
// own region (ui/recording.js). Fed from the session's and the interaction's
// existing events by room_meeting.js.

import { t } from "../i18n.js";
import { h } from "./dom.js";

/** @typedef {import("../protocol.js").Participant} Participant */
/** @typedef {import("../protocol.js").Poll} Poll */

export class Announcer {
  /** @param {HTMLElement} root where the live regions go (they stay in the page) */
  constructor(root) {
    this.polite = h("div.visually-hidden", { role: "status", "aria-live": "polite", "data-testid": "announcer" });
    this.assertive = h("div.visually-hidden", { role: "alert", "aria-live": "assertive", "data-testid": "announcer-urgent" });
    root.append(this.polite, this.assertive);
    /** @type {Map<string, string>} names by participant id: a leave event carries only the id */
    this._names = new Map();
    /** @type {Set<string>} polls already announced as open */
    this._polls = new Set();
  }

  /**
   * Say something once. The same text twice in a row (two people of the same
   * name) is still read: the region is emptied first, then filled a frame later.
   * @param {string} text
   * @param {boolean} [urgent] assertive: interrupts what the reader is saying
   */
  say(text, urgent = false) {
    const region = urgent ? this.assertive : this.polite;
    region.textContent = "";
    requestAnimationFrame(() => {
      region.textContent = text;
    });
  }

  /**
   * The participant list as it is now (at join or a reconnect): remembered, not announced.
   * @param {Participant[]} participants
   */
  known(participants) {
    for (const p of participants) this._names.set(p.id, p.name);
  }

  /** @param {Participant} participant someone new in the meeting */
  joined(participant) {
    this._names.set(participant.id, participant.name);
    this.say(t("a11y.joined", { name: participant.name }));
  }

  /** @param {string} participantId */
  left(participantId) {
    const name = this._names.get(participantId);
    this._names.delete(participantId);
    if (name !== undefined) this.say(t("a11y.left", { name }));
  }

  /**
   * @param {string} name whose hand a host called
   * @param {boolean} self is it ours?
   */
  handCalled(name, self) {
    if (self) this.say(t("a11y.your_hand_called"), true);
    else this.say(t("a11y.hand_called", { name }));
  }

  /**
   * Announce the polls that opened since the last call (the first call only remembers).
   * @param {Poll[]} polls every poll the interaction knows
   * @param {boolean} [quiet] remember without announcing (the state at join)
   */
  polls(polls, quiet = false) {
    for (const poll of polls) {
      if (poll.state !== "open" || this._polls.has(poll.poll_id)) continue;
      this._polls.add(poll.poll_id);
      if (!quiet) this.say(t("a11y.poll_opened", { question: poll.question }));
    }
  }
}

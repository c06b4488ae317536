// Who is in the room, kept from the join acknowledgement and the server's
// participant events, and who speaks. DOM-free; used by session.js.

/** @typedef {import("./protocol.js").Participant} Participant */

/**
 * Events it sends through `emit` (see session.js): `participants`,
 * `participantjoined` / `participantupdated`, `participantleft`, `activespeaker`.
 */
export class Roster {
  /** @param {(type: string, detail: object) => void} emit */
  constructor(emit) {
    this._emit = emit;
    /** @type {Map<string, Participant>} */
    this._participants = new Map();
    /** @type {string | null} */
    this.activeSpeakerId = null;
  }

  /** Everyone in the room, this client included, in join order. */
  get list() {
    return [...this._participants.values()].sort((a, b) => a.joined_at - b.joined_at);
  }

  /** @param {string} id */
  get(id) {
    return this._participants.get(id);
  }

  /**
   * The whole roster of a join acknowledgement (not announced yet: `announce`).
   * @param {Participant[]} participants
   */
  replace(participants) {
    this._participants = new Map(participants.map((p) => [p.id, p]));
  }

  /** Forget everyone (after leaving). */
  clear() {
    this._participants.clear();
    this.activeSpeakerId = null;
  }

  /** Tell the UI the whole roster changed. */
  announce() {
    this._emit("participants", { participants: this.list });
  }

  /**
   * Show a new mute state on our own tile at once (the server confirms later).
   * @param {string | null} selfId
   * @param {"microphone" | "camera"} source
   * @param {boolean} muted
   */
  updateOwnMute(selfId, source, muted) {
    const me = selfId ? this._participants.get(selfId) : null;
    if (!me) return;
    const updated = { ...me, [source === "microphone" ? "audio_muted" : "video_muted"]: muted };
    this._participants.set(me.id, updated);
    this._emit("participantupdated", { participant: updated });
  }

  /**
   * A server event: participant_joined / _updated / _left, active_speaker.
   * @param {string} event
   * @param {Record<string, any>} payload
   * @returns {boolean} false if the event is to be dropped (no such participant)
   */
  handle(event, payload) {
    if (event === "participant_joined" || event === "participant_updated") {
      const participant = payload.participant;
      if (!participant?.id) return false;
      const known = this._participants.has(participant.id);
      this._participants.set(participant.id, participant);
      this._emit(known ? "participantupdated" : "participantjoined", { participant });
    } else if (event === "participant_left") {
      const id = payload.participant_id;
      if (!this._participants.delete(id)) return false;
      if (this.activeSpeakerId === id) this.activeSpeakerId = null;
      this._emit("participantleft", { participantId: id, reason: payload.reason });
    } else if (event === "active_speaker") {
      this.activeSpeakerId = payload.participant_id ?? null;
      this._emit("activespeaker", { participantId: this.activeSpeakerId });
    }
    return true;
  }
}

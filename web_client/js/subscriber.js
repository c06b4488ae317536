// The subscribe connection: the server offers, the client answers. DOM-free.

import { markStep } from "./join_marks.js";

/** @typedef {import("./protocol.js").Track} Track */
/** @typedef {import("./protocol.js").SubscriberOffer} SubscriberOffer */
/** @typedef {import("./protocol.js").SubscriberTracks} SubscriberTracks */
/** @typedef {(event: string, payload: object) => Promise<Record<string, any>>} Request */

/**
 * A received track, as handed to the UI.
 * @typedef {object} RemoteTrack
 * @property {string} mid
 * @property {"audio" | "video"} kind
 * @property {import("./protocol.js").Source} source
 * @property {string} participantId
 * @property {string} producerId
 * @property {MediaStreamTrack} track
 */

/**
 * Events (CustomEvent detail is a RemoteTrack): `trackadded`, `trackended`.
 * An `error` event carries {error} when an offer could not be answered.
 */
export class Subscriber extends EventTarget {
  /**
   * @param {{iceServers: RTCIceServer[], request: Request}} options
   */
  constructor({ iceServers, request }) {
    super();
    this.pc = new RTCPeerConnection({ iceServers, bundlePolicy: "max-bundle" });
    this.closed = false;
    this._request = request;
    /** @type {Map<string, RemoteTrack>} current tracks by mid */
    this._tracks = new Map();
    /**
     * The newest track list received, from an offer or a `subscriber_tracks`
     * (`version` null: the server numbers none).
     * @type {{version: number | null, tracks: Track[]}}
     */
    this._trackList = { version: null, tracks: [] };
    /** @type {SubscriberOffer | null} */
    this._latest = null;
    this._running = false;
    /** an offer is being answered and its answer is not sent yet */
    this._answering = false;
    /** @type {(() => void)[]} waiting for an answer to be sent (`answerSent`) */
    this._sentWaiters = [];
    /** Candidates found before the server has applied an answer. */
    /** @type {RTCIceCandidate[]} */
    this._pendingCandidates = [];
    this._answered = false;
    this.pc.addEventListener("icecandidate", ({ candidate }) => {
      if (!candidate || !candidate.candidate) return;
      if (this._answered) this._sendCandidate(candidate);
      else this._pendingCandidates.push(candidate);
    });
  }

  /**
   * Trickle one of our candidates (`subscriber_ice`); the server accepts them
   * once it has applied an answer.
   * @param {RTCIceCandidate} candidate
   * @private
   */
  _sendCandidate(candidate) {
    const payload = {
      candidate: candidate.candidate,
      sdp_mid: candidate.sdpMid,
      sdp_mline_index: candidate.sdpMLineIndex,
    };
    this._request("subscriber_ice", payload).catch((error) => {
      if (!this.closed) console.warn("subscriber_ice refused:", error);
    });
  }

  /** The tracks received now. */
  get tracks() {
    return [...this._tracks.values()];
  }

  /**
   * Answer a `subscriber_offer`. Offers are handled one at a time; if several
   * arrive meanwhile only the newest is answered (each offer is complete).
   * @param {SubscriberOffer} offer
   */
  handleOffer(offer) {
    this._latest = offer;
    if (!this._running) void this._drain();
  }

  /**
   * Resolves once the offer being handled (if any) has its answer on the
   * way to the server (or its handling ended): the publisher waits for it,
   * so that the server handles our receiving connection first (issue 21).
   * @returns {Promise<void>}
   */
  answerSent() {
    // Not until the server acknowledges the answer: that waits for the
    // server to apply it, and our publish would wait with it (issue 21).
    if (!this._answering && !this._latest) return Promise.resolve();
    return new Promise((resolve) => this._sentWaiters.push(resolve));
  }

  /**
   * A `subscriber_tracks`: a track started on an m-section we have answered
   * for already; show it now, no offer is coming for it.
   * @param {SubscriberTracks} message
   */
  handleTracks(message) {
    if (this.closed || !this._keepTrackList(message, false)) return;
    this._mapTracks(this._trackList.tracks);
  }

  /**
   * Keep `list` if it is newer than the list kept: a list sent alone may
   * overtake the list of the offer being answered. A new connection's first
   * offer (`restart`) starts the numbering afresh. True if it was kept.
   * @param {{tracks?: unknown, tracks_version?: unknown}} list
   * @param {boolean} restart
   * @returns {boolean}
   * @private
   */
  _keepTrackList(list, restart) {
    const version = Number.isInteger(list.tracks_version) ? /** @type {number} */ (list.tracks_version) : null;
    const kept = this._trackList.version;
    if (!restart && version !== null && kept !== null && version <= kept) return false;
    this._trackList = { version, tracks: Array.isArray(list.tracks) ? list.tracks : [] };
    return true;
  }

  /** Close the connection; every current track ends. */
  close() {
    if (this.closed) return;
    this.closed = true;
    this._answerDone(); // nothing more will be sent
    this.pc.close();
    this._mapTracks([]);
  }

  /** @private */
  async _drain() {
    this._running = true;
    try {
      while (this._latest && !this.closed) {
        const offer = this._latest;
        this._latest = null;
        this._answering = true;
        try {
          await this._answer(offer);
        } catch (error) {
          if (!this.closed) this._emit("error", { error });
        } finally {
          this._answerDone();
        }
      }
    } finally {
      this._running = false;
      this._answerDone();
    }
  }

  /**
   * The answer to the offer being handled is on its way (or its handling
   * ended): whoever waits for that goes on, unless a newer offer is waiting
   * for its own answer.
   * @private
   */
  _answerDone() {
    this._answering = false;
    if (this._latest && !this.closed) return;
    for (const resolve of this._sentWaiters.splice(0)) resolve();
  }

  /**
   * @param {SubscriberOffer} offer
   * @private
   */
  async _answer(offer) {
    const { revision, sdp } = offer;
    const pc = this.pc;
    await pc.setRemoteDescription({ type: "offer", sdp });
    if (this.closed) return;
    await pc.setLocalDescription(await pc.createAnswer());
    if (this.closed) return;
    const answer = /** @type {RTCSessionDescription} */ (pc.localDescription).sdp;
    try {
      const sent = this._request("subscriber_answer", { revision, sdp: answer });
      markStep("subscriber: answer sent");
      this._answerDone();
      // The tiles and sinks for the tracks are made while the answer
      // travels, not before it (issue 21: the connection comes up sooner).
      // The newest list is mapped again: one sent alone meanwhile may name
      // an m-section that only this offer brings.
      this._keepTrackList(offer, revision === 1);
      this._mapTracks(this._trackList.tracks);
      markStep("subscriber: tracks shown");
      await sent;
      if (!this._answered) {
        this._answered = true;
        for (const candidate of this._pendingCandidates.splice(0)) this._sendCandidate(candidate);
      }
    } catch (error) {
      // A newer offer is on its way; it will be answered instead.
      if (/** @type {{code?: string}} */ (error)?.code !== "stale_answer") throw error;
    }
  }

  /**
   * Map the offer's track list onto our transceivers by mid; report what
   * started and what ended (a mid may now carry someone else's track).
   * @param {Track[]} tracks
   * @private
   */
  _mapTracks(tracks) {
    /** @type {Map<string, RTCRtpTransceiver>} */
    const byMid = new Map();
    if (!this.closed) {
      for (const transceiver of this.pc.getTransceivers()) {
        if (transceiver.mid != null) byMid.set(transceiver.mid, transceiver);
      }
    }
    /** @type {Map<string, RemoteTrack>} */
    const next = new Map();
    for (const info of tracks) {
      const transceiver = byMid.get(info.mid);
      if (!transceiver) continue;
      next.set(info.mid, {
        mid: info.mid,
        kind: info.kind,
        source: info.source,
        participantId: info.participant_id,
        producerId: info.producer_id,
        track: transceiver.receiver.track,
      });
    }
    const previous = this._tracks;
    this._tracks = next;
    for (const [mid, old] of previous) {
      if (next.get(mid)?.producerId !== old.producerId) this._emit("trackended", old);
    }
    for (const [mid, current] of next) {
      if (previous.get(mid)?.producerId !== current.producerId) this._emit("trackadded", current);
    }
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

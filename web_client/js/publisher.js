// The publish connection: the client offers, the server answers. DOM-free.

import { preferForwardedCodec } from "./peer.js";

/** @typedef {import("./protocol.js").Source} Source */
/** @typedef {(event: string, payload: object) => Promise<Record<string, any>>} Request */

/** @type {Record<Source, "audio" | "video">} */
const KIND_OF = { microphone: "audio", camera: "video", screen: "video" };

/**
 * Carries what this client sends. One m-section per source, created on first
 * use and kept for the life of the connection (a source that stops is sent as
 * "no track" and left out of `sources`, so its m-section is reused later).
 *
 * Negotiations run one at a time; asking again while one is queued but not
 * started joins that one.
 */
export class Publisher {
  /**
   * @param {{iceServers: RTCIceServer[], request: Request, onError?: (error: unknown) => void}} options
   */
  constructor({ iceServers, request, onError }) {
    this.pc = new RTCPeerConnection({ iceServers, bundlePolicy: "max-bundle" });
    this.closed = false;
    this._request = request;
    this._onError = onError ?? (() => {});
    /** @type {Map<Source, RTCRtpTransceiver>} */
    this._transceivers = new Map();
    /** @type {Set<Source>} sources named in the next `publish` */
    this._published = new Set();
    /** @type {Promise<void>} */
    this._chain = Promise.resolve();
    /** @type {Promise<void> | null} a negotiation queued but not started */
    this._queued = null;
    this._offerSent = false;
    /** @type {object[]} candidates gathered before the first `publish` went out */
    this._pendingCandidates = [];
    this.pc.addEventListener("icecandidate", (event) => this._onCandidate(event.candidate));
  }

  /** @param {Source} source */
  isPublished(source) {
    return this._published.has(source);
  }

  /** Sources that will be named in the next `publish`. */
  get publishedSources() {
    return [...this._published];
  }

  /**
   * Send `track` as `source` (null: keep the m-section, send nothing, e.g. camera off).
   * @param {Source} source
   * @param {MediaStreamTrack | null} track
   * @returns {Promise<boolean>} true if the server must hear about it (call `negotiate()`)
   */
  async send(source, track) {
    if (this.closed) return false;
    let transceiver = this._transceivers.get(source);
    let changed = !this._published.has(source);
    if (!transceiver) {
      const kind = KIND_OF[source];
      transceiver = this.pc.addTransceiver(track ?? kind, { direction: "sendonly" });
      preferForwardedCodec(transceiver, kind);
      this._transceivers.set(source, transceiver);
      changed = true;
    } else if (transceiver.sender.track !== track) {
      await transceiver.sender.replaceTrack(track);
    }
    this._published.add(source);
    return changed;
  }

  /**
   * Stop sending `source` and leave it out of the next `publish`.
   * @param {Source} source
   * @returns {Promise<boolean>} true if the server must hear about it
   */
  async unpublish(source) {
    const transceiver = this._transceivers.get(source);
    if (transceiver && !this.closed) await transceiver.sender.replaceTrack(null);
    return this._published.delete(source);
  }

  /**
   * Offer the current m-sections and apply the server's answer.
   * @returns {Promise<void>} rejects with the reason the server refused
   */
  negotiate() {
    if (this._queued) return this._queued;
    const run = this._chain.then(() => {
      this._queued = null;
      return this._negotiateOnce();
    });
    this._queued = run;
    this._chain = run.catch(() => {});
    return run;
  }

  close() {
    if (this.closed) return;
    this.closed = true;
    this.pc.close();
  }

  /** @private */
  async _negotiateOnce() {
    if (this.closed) return;
    const pc = this.pc;
    await pc.setLocalDescription(await pc.createOffer());
    const sdp = /** @type {RTCSessionDescription} */ (pc.localDescription).sdp;
    /** @type {Record<string, Source>} */
    const sources = {};
    for (const source of this._published) {
      const mid = this._transceivers.get(source)?.mid;
      if (mid != null) sources[mid] = source;
    }
    let answer;
    try {
      const pending = this._request("publish", { sdp, sources });
      // `publish` is on the wire now; candidates may follow it.
      this._offerSent = true;
      this._flushCandidates();
      answer = await pending;
    } catch (error) {
      if (!this.closed && pc.signalingState === "have-local-offer") {
        await pc.setLocalDescription({ type: "rollback" }).catch(() => {});
      }
      throw error;
    }
    if (this.closed) return;
    await pc.setRemoteDescription({ type: "answer", sdp: answer.sdp });
  }

  /**
   * @param {RTCIceCandidate | null} candidate
   * @private
   */
  _onCandidate(candidate) {
    const payload = candidate
      ? {
          candidate: candidate.candidate,
          sdp_mid: candidate.sdpMid ?? null,
          sdp_mline_index: candidate.sdpMLineIndex ?? null,
        }
      : { candidate: "", sdp_mid: null, sdp_mline_index: null }; // end of candidates
    if (!this._offerSent) {
      this._pendingCandidates.push(payload);
    } else {
      this._sendCandidate(payload);
    }
  }

  /** @private */
  _flushCandidates() {
    const pending = this._pendingCandidates;
    this._pendingCandidates = [];
    for (const payload of pending) this._sendCandidate(payload);
  }

  /**
   * @param {object} payload
   * @private
   */
  _sendCandidate(payload) {
    if (this.closed) return;
    this._request("publisher_ice", payload).catch((error) => {
      if (!this.closed) this._onError(error);
    });
  }
}

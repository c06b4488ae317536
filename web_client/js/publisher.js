// The publish connection: the client offers, the server answers. DOM-free.

import { preferForwardedCodec } from "./peer.js";

/** @typedef {import("./protocol.js").Source} Source */
/** @typedef {(event: string, payload: object) => Promise<Record<string, any>>} Request */

/** @type {Record<Source, "audio" | "video">} */
const KIND_OF = { microphone: "audio", camera: "video", screen: "video" };

/**
 * One spatial layer of the camera, as the join acknowledgement's
 * `media.simulcast` lists them (lowest first).
 * @typedef {object} SimulcastLayer
 * @property {string} rid
 * @property {number} scaleDown the camera's size divided by this
 * @property {number} maxBitrate bit/s
 */

/** RIDs are short tokens (RFC 8851: alphanumerics, `-` and `_`). */
const RID = /^[A-Za-z0-9_-]{1,16}$/;
/** Browsers send at most this many simulcast layers of one track. */
const MAX_LAYERS = 4;

/**
 * The camera layers a server asks for (`media.simulcast` of the join
 * acknowledgement), in its order. Anything missing or malformed means "one
 * encoding, as before": an empty list.
 * @param {unknown} media the acknowledgement's `media`
 * @returns {SimulcastLayer[]}
 */
export function simulcastLayers(media) {
  const list = /** @type {{simulcast?: unknown} | null | undefined} */ (media)?.simulcast;
  if (!Array.isArray(list) || list.length < 2 || list.length > MAX_LAYERS) return [];
  /** @type {SimulcastLayer[]} */
  const layers = [];
  for (const entry of list) {
    const { rid, scale_down: scaleDown, max_bitrate: maxBitrate } = entry ?? {};
    const valid =
      typeof rid === "string" &&
      RID.test(rid) &&
      Number.isFinite(scaleDown) &&
      scaleDown >= 1 &&
      Number.isInteger(maxBitrate) &&
      maxBitrate > 0;
    if (!valid) return [];
    layers.push({ rid, scaleDown, maxBitrate });
  }
  return new Set(layers.map((layer) => layer.rid)).size === layers.length ? layers : [];
}

/**
 * `sendEncodings` for a new transceiver: the camera's simulcast layers in the
 * server's order; the screen one encoding at full size (text must stay sharp).
 * @param {Source} source
 * @param {SimulcastLayer[]} simulcast
 * @returns {RTCRtpEncodingParameters[] | undefined} undefined: the browser's default
 */
function encodingsFor(source, simulcast) {
  if (source === "camera" && simulcast.length) {
    return simulcast.map(({ rid, scaleDown, maxBitrate }) => ({ rid, scaleResolutionDownBy: scaleDown, maxBitrate }));
  }
  if (source === "screen") return [{ scaleResolutionDownBy: 1 }];
  return undefined;
}

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
   * @param {{iceServers: RTCIceServer[], request: Request, onError?: (error: unknown) => void,
   *   simulcast?: SimulcastLayer[]}} options
   *   simulcast: the camera's layers (see `simulcastLayers`); empty: one encoding
   */
  constructor({ iceServers, request, onError, simulcast = [] }) {
    this.pc = new RTCPeerConnection({ iceServers, bundlePolicy: "max-bundle" });
    this.closed = false;
    /** @type {SimulcastLayer[]} */
    this.simulcast = simulcast;
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
    // A shared screen is mostly text: keep its resolution and drop frames instead.
    if (source === "screen" && track && !track.contentHint) track.contentHint = "detail";
    if (!transceiver) {
      const kind = KIND_OF[source];
      const sendEncodings = encodingsFor(source, this.simulcast);
      transceiver = this.pc.addTransceiver(track ?? kind, { direction: "sendonly", ...(sendEncodings && { sendEncodings }) });
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

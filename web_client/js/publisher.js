// The publish connection: the client offers, the server answers. DOM-free.

import { markStep } from "./join_marks.js";
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
 * @property {number} maxBitrate bit/s, for a camera of `referencePixels`
 * @property {number | null} referencePixels the camera size (width × height)
 *   `maxBitrate` is meant for (`media.simulcast_reference`); a smaller camera
 *   gets a proportionally smaller bitrate (`layerBitrate`). null: as given
 */

/** RIDs are short tokens (RFC 8851: alphanumerics, `-` and `_`). */
const RID = /^[A-Za-z0-9_-]{1,16}$/;
/** Browsers send at most this many simulcast layers of one track. */
const MAX_LAYERS = 4;
/** However small the camera, a layer may use this much (bit/s): a 160×90
 * stream at 15 fps looks right at about 50 kbit/s. */
export const MIN_LAYER_BITRATE = 50_000;

/**
 * The camera layers a server asks for (`media.simulcast` of the join
 * acknowledgement), in its order. Anything missing or malformed means "one
 * encoding, as before": an empty list.
 * @param {unknown} media the acknowledgement's `media`
 * @returns {SimulcastLayer[]}
 */
export function simulcastLayers(media) {
  const given = /** @type {{simulcast?: unknown, simulcast_reference?: any} | null | undefined} */ (media);
  const list = given?.simulcast;
  if (!Array.isArray(list) || list.length < 2 || list.length > MAX_LAYERS) return [];
  const { width, height } = given?.simulcast_reference ?? {};
  const referencePixels = Number.isInteger(width) && Number.isInteger(height) && width > 0 && height > 0 ? width * height : null;
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
    layers.push({ rid, scaleDown, maxBitrate, referencePixels });
  }
  return new Set(layers.map((layer) => layer.rid)).size === layers.length ? layers : [];
}

/** How bitrate follows pixels: a quarter of the pixels takes about 35 % of
 * the bits (0.25 ** 0.75), since small frames need more bits per pixel. */
const PIXEL_EXPONENT = 0.75;

/**
 * A layer's bitrate for a camera of `pixels` (width × height): the server's
 * figure times (the camera's share of the reference size) ** PIXEL_EXPONENT,
 * never below MIN_LAYER_BITRATE (nor above the server's figure). A 640×360
 * camera's smallest layer is 160×90, not the 320×180 the server's figure is
 * meant for; at that figure two of them with their audio would not fit a
 * 300 kbit/s link.
 * @param {SimulcastLayer} layer
 * @param {number | null} pixels the camera's size; null: unknown (as given)
 * @returns {number} bit/s
 */
export function layerBitrate(layer, pixels) {
  const { maxBitrate, referencePixels } = layer;
  if (!referencePixels || !pixels || pixels >= referencePixels) return maxBitrate;
  const scaled = Math.round(maxBitrate * (pixels / referencePixels) ** PIXEL_EXPONENT);
  return Math.max(Math.min(MIN_LAYER_BITRATE, maxBitrate), scaled);
}

/**
 * @param {MediaStreamTrack | null} track
 * @returns {number | null} its width × height, if known
 */
function pixelsOf(track) {
  const { width, height } = track?.getSettings?.() ?? {};
  return width && height ? width * height : null;
}

/**
 * `sendEncodings` for a new transceiver: the camera's simulcast layers in the
 * server's order; the screen one encoding at full size (text must stay sharp).
 * @param {Source} source
 * @param {SimulcastLayer[]} simulcast
 * @param {MediaStreamTrack | null} track
 * @returns {RTCRtpEncodingParameters[] | undefined} undefined: the browser's default
 */
function encodingsFor(source, simulcast, track) {
  if (source === "camera" && simulcast.length) {
    const pixels = pixelsOf(track);
    return simulcast.map((layer) => ({
      rid: layer.rid,
      scaleResolutionDownBy: layer.scaleDown,
      maxBitrate: layerBitrate(layer, pixels),
    }));
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
    /** @type {() => void} */
    let arrived = () => {};
    /** resolves once the server's answer to the first offer is here (or the offer failed) */
    this._firstAnswer = new Promise((resolve) => (arrived = resolve));
    this._firstAnswerArrived = arrived;
    /** @type {object[]} candidates gathered before the first `publish` went out */
    this._pendingCandidates = [];
    /** @type {Promise<void>} changes of a sender's parameters, one at a time
     * (each needs the `getParameters` of the one before) */
    this._parameterChanges = Promise.resolve();
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
      const sendEncodings = encodingsFor(source, this.simulcast, track);
      transceiver = this.pc.addTransceiver(track ?? kind, { direction: "sendonly", ...(sendEncodings && { sendEncodings }) });
      preferForwardedCodec(transceiver, kind);
      this._transceivers.set(source, transceiver);
      changed = true;
    } else if (transceiver.sender.track !== track) {
      await transceiver.sender.replaceTrack(track);
      if (source === "camera" && track) await this._fitBitrates(transceiver.sender, track);
    }
    this._published.add(source);
    return changed;
  }

  /**
   * A camera of another size (another device, or back on after off): each
   * layer's bitrate follows its new size (`layerBitrate`).
   * @param {RTCRtpSender} sender
   * @param {MediaStreamTrack} track
   * @private
   */
  async _fitBitrates(sender, track) {
    if (!this.simulcast.length) return;
    const pixels = pixelsOf(track);
    await this._changeEncodings(sender, "fit the camera layers' bitrates", (encoding) => {
      const layer = this.simulcast.find((l) => l.rid === encoding.rid);
      const bitrate = layer && layerBitrate(layer, pixels);
      if (!bitrate || encoding.maxBitrate === bitrate) return false;
      encoding.maxBitrate = bitrate;
      return true;
    });
  }

  /**
   * The server's `publish_layers`: encode only the layers (by rid) it says
   * somebody takes; the others stop until it asks for them again. Unknown
   * mids and rids are ignored.
   * @param {unknown} mid
   * @param {unknown} layers `{rid: boolean}`
   */
  async setLayers(mid, layers) {
    if (this.closed || typeof mid !== "string" || !layers || typeof layers !== "object") return;
    const wanted = /** @type {Record<string, unknown>} */ (layers);
    const transceiver = [...this._transceivers.values()].find((t) => t.mid === mid);
    if (!transceiver) return;
    await this._changeEncodings(transceiver.sender, "switch camera layers", (encoding) => {
      const active = encoding.rid !== undefined ? wanted[encoding.rid] : undefined;
      if (typeof active !== "boolean" || encoding.active === active) return false;
      encoding.active = active;
      return true;
    });
  }

  /**
   * Change some encodings of `sender` (`change` returns true for one it
   * changed), after every change asked for before; a failure leaves the
   * old parameters and is logged.
   * @param {RTCRtpSender} sender
   * @param {string} what for the log
   * @param {(encoding: RTCRtpEncodingParameters) => boolean} change
   * @private
   */
  _changeEncodings(sender, what, change) {
    const run = this._parameterChanges.then(async () => {
      if (this.closed) return;
      const parameters = sender.getParameters();
      let changed = false;
      for (const encoding of parameters.encodings ?? []) changed = change(encoding) || changed;
      if (changed) await sender.setParameters(parameters);
    });
    this._parameterChanges = run.catch((error) => console.warn(`could not ${what}:`, error));
    return this._parameterChanges;
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

  /**
   * Resolves once the server's answer to the first offer has arrived (or
   * that offer failed), before the browser has applied it: applying it
   * takes the browser's WebRTC thread, not the page's.
   * @returns {Promise<void>}
   */
  firstAnswer() {
    return this._firstAnswer;
  }

  close() {
    if (this.closed) return;
    this.closed = true;
    this._firstAnswerArrived();
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
      markStep("publish: offer sent");
      // `publish` is on the wire now; candidates may follow it.
      this._offerSent = true;
      this._flushCandidates();
      answer = await pending;
      markStep("publish: answer received");
    } catch (error) {
      if (!this.closed && pc.signalingState === "have-local-offer") {
        await pc.setLocalDescription({ type: "rollback" }).catch(() => {});
      }
      throw error;
    } finally {
      this._firstAnswerArrived();
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

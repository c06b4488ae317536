// The two peer connections of one join: publish (ours) and subscribe (the
// others'), with their health watched. DOM-free.

import { markStep } from "./join_marks.js";
import { watchConnection } from "./peer.js";
import { ProtocolError } from "./protocol.js";
import { Publisher } from "./publisher.js";
import { Subscriber } from "./subscriber.js";

/** @typedef {import("./protocol.js").Source} Source */
/** @typedef {(event: string, payload: object) => Promise<Record<string, any>>} Request */

/**
 * Events (CustomEvent, detail in braces):
 * - `trackadded` / `trackended` {RemoteTrack} (see subscriber.js)
 * - `connected` {side: "publish" | "subscribe"}: a connection is up (media flows)
 * - `failed` {why}: a connection failed or never came up
 * - `error` {side: "publish" | "subscribe", error}: a negotiation was refused
 */
export class PeerPair extends EventTarget {
  /**
   * @param {{iceServers: RTCIceServer[], request: Request,
   *   simulcast?: import("./publisher.js").SimulcastLayer[]}} options simulcast: the camera's layers
   */
  constructor({ iceServers, request, simulcast = [] }) {
    super();
    this.closed = false;
    /** true until `publishAll` may publish: `send` and `unpublish` change nothing meanwhile */
    this.holding = true;
    this.subscriber = new Subscriber({ iceServers, request });
    this.publisher = new Publisher({
      iceServers,
      request,
      simulcast,
      onError: (error) => console.warn("publisher_ice refused:", error),
    });
    for (const type of ["trackadded", "trackended"]) {
      this.subscriber.addEventListener(type, (e) => this._emit(type, /** @type {CustomEvent} */ (e).detail));
    }
    this.subscriber.addEventListener("error", (e) =>
      this._onError("subscribe", /** @type {CustomEvent} */ (e).detail.error),
    );
    const sides = /** @type {const} */ ([["publish", this.publisher.pc], ["subscribe", this.subscriber.pc]]);
    this._unwatch = sides.map(([side, pc]) =>
      watchConnection(pc, {
        onConnected: () => {
          markStep(side === "subscribe" ? "receiving connection up" : "publishing connection up");
          this._emit("connected", { side });
        },
        onFailed: (why) => this._emit("failed", { why }),
      }),
    );
  }

  /**
   * Whether the receiving connection is still to come up with tracks to
   * bring (the others' video): it has tracks and is new or connecting.
   * @returns {boolean}
   */
  get receivingPending() {
    const state = this.subscriber.pc.connectionState;
    return this.subscriber.tracks.length > 0 && (state === "new" || state === "connecting");
  }

  /**
   * Whether the publishing connection is still to come up with what we
   * publish: something is published and it is new or connecting.
   * @returns {boolean}
   */
  get publishingPending() {
    const state = this.publisher.pc.connectionState;
    return this.publisher.publishedSources.length > 0 && (state === "new" || state === "connecting");
  }

  /**
   * Publish everything we have, in one negotiation, once `allowed` says so
   * (e.g. the person accepted that the meeting is recorded). Until then
   * nothing is published; the tracks are read when publishing starts.
   * @param {{tracks: Record<Source, MediaStreamTrack | null>, hadCamera: boolean}} media
   *   hadCamera: publish a camera m-section even with no camera track
   * @param {Promise<boolean>} [allowed]
   * @returns {Promise<boolean>} false if nothing was published
   */
  async publishAll(media, allowed = Promise.resolve(true)) {
    const ok = await allowed.catch(() => false);
    if (!ok || this.closed) return false;
    this.holding = false;
    const { microphone, camera, screen } = media.tracks;
    if (microphone) await this.publisher.send("microphone", microphone);
    // The camera keeps its m-section while off, so turning it on needs no renegotiation.
    if (camera || media.hadCamera) await this.publisher.send("camera", camera);
    if (screen) await this.publisher.send("screen", screen);
    if (this.publisher.publishedSources.length === 0) return false;
    await this.negotiate();
    return true;
  }

  /**
   * Send `track` as `source` (null: send nothing, keep the m-section), and
   * renegotiate if the server must hear about it.
   * @param {Source} source
   * @param {MediaStreamTrack | null} track
   */
  async send(source, track) {
    if (this.holding || (!track && !this.publisher.isPublished(source))) return;
    if (await this.publisher.send(source, track)) await this.negotiate();
  }

  /**
   * Stop publishing `source` (its tiles go away for everyone).
   * @param {Source} source
   */
  async unpublish(source) {
    if (this.holding) return;
    if (await this.publisher.unpublish(source)) await this.negotiate();
  }

  /** @param {import("./protocol.js").SubscriberOffer} offer */
  handleOffer(offer) {
    this.subscriber.handleOffer(offer);
  }

  /** @param {import("./protocol.js").SubscriberTracks} message */
  handleTracks(message) {
    this.subscriber.handleTracks(message);
  }

  /** @param {{mid?: unknown, layers?: unknown}} message the server's `publish_layers` */
  setPublishLayers(message) {
    this.publisher.setLayers(message.mid, message.layers);
  }

  /** Renegotiate the publish connection; a refusal becomes an `error` event. */
  async negotiate() {
    try {
      await this.publisher.negotiate();
    } catch (error) {
      this._onError("publish", error);
    }
  }

  /** Close both connections; every remote track ends. */
  close() {
    if (this.closed) return;
    this.closed = true;
    for (const unwatch of this._unwatch) unwatch();
    this.publisher.close();
    this.subscriber.close();
  }

  /**
   * @param {"publish" | "subscribe"} side
   * @param {unknown} error
   * @private
   */
  _onError(side, error) {
    if (this.closed) return;
    if (error instanceof ProtocolError && error.transient) return; // the session reconnects
    console.error(`${side} negotiation failed:`, error);
    this._emit("error", { side, error });
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

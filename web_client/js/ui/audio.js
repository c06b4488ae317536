// Remote audio: one hidden <audio autoplay> per received audio track, played
// on the chosen speaker (`setSinkId`, where the browser has it).

import { h, play } from "./dom.js";

export class AudioSink {
  /**
   * @param {HTMLElement} container a hidden element to hold the <audio> elements
   * @param {{muted?: boolean, onBlocked?: () => void}} [options]
   *   muted: play nothing (companion mode: the room's speakerphone carries the sound);
   *   onBlocked: the browser refused to start playback without a click
   */
  constructor(container, options = {}) {
    this.el = container;
    this.muted = Boolean(options.muted);
    this._onBlocked = options.onBlocked ?? (() => {});
    /** @type {Map<string, HTMLAudioElement>} by producer id */
    this._elements = new Map();
    /** the output device ("": the system's default) */
    this.sinkId = "";
  }

  /**
   * Play everything on this output device ("": the system's default).
   * @param {string} sinkId
   * @returns {Promise<boolean>} false if the browser refused it (the sound stays where it was)
   */
  async setSinkId(sinkId) {
    const elements = [...this._elements.values()];
    try {
      await Promise.all(elements.map((audio) => applySink(audio, sinkId)));
    } catch (error) {
      console.warn("could not switch the speaker:", error);
      await Promise.all(elements.map((audio) => applySink(audio, this.sinkId).catch(() => {})));
      return false;
    }
    this.sinkId = sinkId;
    return true;
  }

  /**
   * @param {{producerId: string, participantId: string, track: MediaStreamTrack}} remote
   */
  add({ producerId, participantId, track }) {
    this.remove(producerId);
    const audio = /** @type {HTMLAudioElement} */ (
      h("audio", {
        autoplay: true,
        "data-testid": "remote-audio",
        "data-participant-id": participantId,
        "data-producer-id": producerId,
      })
    );
    audio.muted = this.muted;
    if (this.sinkId) applySink(audio, this.sinkId).catch((error) => console.warn("could not set the speaker:", error));
    audio.srcObject = new MediaStream([track]);
    this.el.append(audio);
    this._elements.set(producerId, audio);
    play(audio, () => this._onBlocked());
  }

  /** @param {string} producerId */
  remove(producerId) {
    const audio = this._elements.get(producerId);
    if (!audio) return;
    audio.srcObject = null;
    audio.remove();
    this._elements.delete(producerId);
  }

  /** @param {string} participantId */
  removeParticipant(participantId) {
    for (const [producerId, audio] of this._elements) {
      if (audio.dataset.participantId === participantId) this.remove(producerId);
    }
  }

  clear() {
    for (const producerId of [...this._elements.keys()]) this.remove(producerId);
  }

  /**
   * The speaker: play everyone's audio, or nothing (companion devices: the
   * room's speakerphone carries the sound).
   * @param {boolean} muted
   */
  setMuted(muted) {
    this.muted = muted;
    for (const audio of this._elements.values()) {
      audio.muted = muted;
      if (!muted) play(audio, () => this._onBlocked());
    }
  }

  /** Try again after a click (autoplay policies want a user gesture). */
  resume() {
    for (const audio of this._elements.values()) play(audio);
  }
}

/**
 * @param {HTMLMediaElement} audio
 * @param {string} sinkId
 */
async function applySink(audio, sinkId) {
  const media = /** @type {HTMLMediaElement & {setSinkId?: (id: string) => Promise<void>, sinkId?: string}} */ (audio);
  if (typeof media.setSinkId === "function" && media.sinkId !== sinkId) await media.setSinkId(sinkId);
}

// The microphone's level meter and the speaker's test sound (Web Audio).
// One AudioContext for the page, made only when a meter or the test sound
// is first wanted (never while a page joins).

/** @type {AudioContext | null} */
let context = null;

/** The page's AudioContext (made on first use; resumed, as autoplay rules may start it suspended). */
function audioContext() {
  if (!context) {
    context = new AudioContext();
    // Autoplay rules may start it suspended until the person does something on the page.
    const resume = () => void context?.resume().catch(() => {});
    for (const type of ["pointerdown", "keydown"]) addEventListener(type, resume, { capture: true, once: true });
  }
  if (context.state === "suspended") void context.resume().catch(() => {});
  return context;
}

/** dBFS that shows as an empty meter; 0 dBFS is full. */
const FLOOR_DB = -60;
const TICK_MS = 100;

/**
 * Shows how loud a microphone track is on a `<meter>` (0..1), ten times a
 * second while started. A muted track (disabled) shows nothing.
 */
export class LevelMeter {
  /** @param {HTMLMeterElement} meter */
  constructor(meter) {
    this.meter = meter;
    /** @type {MediaStreamTrack | null} */
    this.track = null;
    this.running = false;
    /** @type {{source: MediaStreamAudioSourceNode, analyser: AnalyserNode, buffer: Float32Array} | null} */
    this._graph = null;
    /** @type {ReturnType<typeof setInterval> | undefined} */
    this._timer = undefined;
    this._value = 0;
  }

  /** @param {MediaStreamTrack | null} track */
  setTrack(track) {
    if (track === this.track) return;
    this.track = track;
    this._disconnect();
    if (this.running) this._connect();
    if (!track) this._show(0);
  }

  start() {
    if (this.running) return;
    this.running = true;
    this._connect();
    this._timer = setInterval(() => this._tick(), TICK_MS);
  }

  stop() {
    if (!this.running) return;
    this.running = false;
    clearInterval(this._timer);
    this._disconnect();
    this._show(0);
  }

  /** @private */
  _connect() {
    const track = this.track;
    if (!track || track.readyState !== "live") return;
    try {
      const ctx = audioContext();
      const source = ctx.createMediaStreamSource(new MediaStream([track]));
      const analyser = ctx.createAnalyser();
      analyser.fftSize = 1024;
      source.connect(analyser);
      this._graph = { source, analyser, buffer: new Float32Array(analyser.fftSize) };
    } catch (error) {
      console.warn("no microphone level:", error);
    }
  }

  /** @private */
  _disconnect() {
    this._graph?.source.disconnect();
    this._graph = null;
  }

  /** @private */
  _tick() {
    if (!this._graph && this.track?.readyState === "live") this._connect();
    const graph = this._graph;
    if (!graph || !this.track?.enabled) {
      this._show(0); // muted: empty at once
      return;
    }
    graph.analyser.getFloatTimeDomainData(graph.buffer);
    let sum = 0;
    for (const sample of graph.buffer) sum += sample * sample;
    const rms = Math.sqrt(sum / graph.buffer.length);
    const db = rms > 0 ? 20 * Math.log10(rms) : FLOOR_DB;
    const level = Math.min(1, Math.max(0, (db - FLOOR_DB) / -FLOOR_DB));
    // Rises at once, falls gently: easier to read.
    this._show(Math.max(level, this._value * 0.7));
  }

  /**
   * @param {number} value
   * @private
   */
  _show(value) {
    this._value = value < 0.01 ? 0 : value;
    this.meter.value = this._value;
  }
}

/** How long the test sound plays (s). */
const TEST_SOUND_S = 1.4;

/**
 * Play a short chime on an output device ("": the system's default), through
 * an `<audio>` element (so `setSinkId` chooses the speaker) put in `container`
 * while it plays (`data-testid="speaker-test-audio"`).
 * @param {string} sinkId
 * @param {HTMLElement} container
 * @returns {Promise<void>} when it has finished
 */
export async function playTestSound(sinkId, container) {
  const ctx = audioContext();
  await ctx.resume();
  const out = ctx.createMediaStreamDestination();
  const now = ctx.currentTime;
  // Three rising notes (C5, E5, G5), each with a soft start and end.
  [523.25, 659.25, 783.99].forEach((frequency, i) => {
    const osc = ctx.createOscillator();
    osc.type = "sine";
    osc.frequency.value = frequency;
    const note = ctx.createGain();
    const start = now + i * 0.35;
    note.gain.setValueAtTime(0, start);
    note.gain.linearRampToValueAtTime(0.3, start + 0.03);
    note.gain.exponentialRampToValueAtTime(0.001, start + 0.6);
    osc.connect(note).connect(out);
    osc.start(start);
    osc.stop(start + 0.65);
  });
  const audio = /** @type {HTMLAudioElement & {setSinkId?: (id: string) => Promise<void>}} */ (document.createElement("audio"));
  audio.dataset.testid = "speaker-test-audio";
  audio.srcObject = out.stream;
  if (sinkId && typeof audio.setSinkId === "function") await audio.setSinkId(sinkId);
  container.append(audio);
  try {
    await audio.play();
    await new Promise((resolve) => setTimeout(resolve, TEST_SOUND_S * 1000));
  } finally {
    audio.pause();
    audio.srcObject = null;
    audio.remove();
  }
}

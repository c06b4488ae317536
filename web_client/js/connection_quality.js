// How well media gets through, as a person would judge it: for each remote
// participant (their video and sound as this client receives them) and for
// ourselves (what we send, what we can receive). Reads one getStats() per
// peer connection every couple of seconds and the server's own view
// (`media_quality`, docs/protocol.md). DOM-free: the UI shows the result
// (ui/quality_indicator.js).

import { t } from "./i18n.js";

/** @typedef {import("./peer_pair.js").PeerPair} PeerPair */

/** How often the connections are measured. */
export const QUALITY_INTERVAL_MS = 2000;

/** @typedef {"good" | "fair" | "poor"} Level */

/**
 * One judgement: a level and the reasons for anything below "good", in words
 * a person understands (the indicator's label), plus what it rests on.
 * @typedef {object} Quality
 * @property {Level} level
 * @property {string[]} reasons empty when good
 * @property {Record<string, number | null>} figures what was measured (loss 0..1, fps, jitter and rtt in s, bit/s)
 */

/**
 * The server's view of this client (`media_quality`), cleaned.
 * @typedef {object} ServerReport
 * @property {number | null} estimate bit/s the server thinks our downlink takes
 * @property {number | null} loss recent downlink loss, 0..1
 * @property {number | null} rtt seconds
 * @property {string[]} paused participants whose video the server paused for us
 * @property {Record<string, number | null>} layers height of the layer we receive, by participant
 * @property {number | null} uplinkLoss loss on what we publish, as the server sees it
 */

/** Loss at or above these fractions makes a link fair / poor. */
const LOSS = { fair: 0.02, poor: 0.08 };
/** Video arriving at fewer frames per second than these is fair / poor. */
const FPS = { fair: 10, poor: 5 };
/** Jitter (s) at or above these is fair / poor. */
const JITTER = { fair: 0.05, poor: 0.15 };
/** Round-trip time (s) at or above these is fair / poor. */
const RTT = { fair: 0.3, poor: 0.6 };
/** Bandwidth-limited video sent at less than these (bit/s) is fair / poor for the others. */
const LOW_UPLINK = { fair: 300_000, poor: 100_000 };
/** A downlink estimate below this (bit/s) cannot carry more than small video. */
const LOW_ESTIMATE = 250_000;

const RANK = { good: 0, fair: 1, poor: 2 };

/** An empty server report: nothing known, nothing paused. */
export function emptyReport() {
  return /** @type {ServerReport} */ ({ estimate: null, loss: null, rtt: null, paused: [], layers: {}, uplinkLoss: null });
}

/**
 * Clean a `media_quality` payload: wrong or missing fields count as unknown.
 * @param {any} payload
 * @returns {ServerReport}
 */
export function parseReport(payload) {
  const report = emptyReport();
  if (!payload || typeof payload !== "object") return report;
  report.estimate = nonNegative(payload.estimate);
  report.loss = fraction(payload.loss);
  report.rtt = nonNegative(payload.rtt);
  if (Array.isArray(payload.paused)) report.paused = payload.paused.filter((id) => typeof id === "string");
  if (payload.layers && typeof payload.layers === "object") {
    for (const [id, layer] of Object.entries(payload.layers)) report.layers[id] = nonNegative(layer?.height);
  }
  report.uplinkLoss = fraction(payload.uplink?.loss);
  return report;
}

/**
 * Events (CustomEvent, detail in braces):
 * - `quality` {self: Quality | null, participants: Map<string, Quality>}: every
 *   measurement (null / missing: nothing to judge yet)
 * - `paused` {paused: string[]}: the server paused or resumed someone's video for us
 */
export class ConnectionQuality extends EventTarget {
  /**
   * @param {() => PeerPair | null} peers the peer connections of the current join
   * @param {{intervalMs?: number}} [options]
   */
  constructor(peers, { intervalMs = QUALITY_INTERVAL_MS } = {}) {
    super();
    this._peers = peers;
    this._intervalMs = intervalMs;
    /** @type {ServerReport} */
    this.server = emptyReport();
    /** @type {Map<string, Record<string, number>>} counters of the last measurement, by stats id */
    this._last = new Map();
    /** @type {ReturnType<typeof setInterval> | undefined} */
    this._timer = undefined;
    this._sampling = false;
  }

  /** Whose video the server paused for us now. */
  get paused() {
    return this.server.paused;
  }

  /** Measure every `intervalMs` from now on (again: no change). */
  start() {
    if (this._timer === undefined) this._timer = setInterval(() => void this.sample(), this._intervalMs);
  }

  stop() {
    clearInterval(this._timer);
    this._timer = undefined;
  }

  /**
   * Forget the server's report and the counters (a new join: new connections,
   * and the server's new session has not judged us yet).
   */
  reset() {
    this._last.clear();
    this.applyServer(null);
  }

  /**
   * The server's `media_quality`. A change of who is paused is told at once
   * (the tiles should not show a frozen frame for two seconds).
   * @param {any} payload
   */
  applyServer(payload) {
    const before = JSON.stringify(this.server.paused);
    this.server = parseReport(payload);
    if (JSON.stringify(this.server.paused) !== before) this._emit("paused", { paused: [...this.server.paused] });
  }

  /**
   * Measure once now and tell the listeners (`quality` event).
   * @returns {Promise<{self: Quality | null, participants: Map<string, Quality>}>}
   */
  async sample() {
    const peers = this._peers();
    if (this._sampling || !peers || peers.closed) return { self: null, participants: new Map() };
    this._sampling = true;
    try {
      const [sent, received] = await Promise.all([
        readStats(peers.publisher.pc, this._last),
        readStats(peers.subscriber.pc, this._last),
      ]);
      const byMid = new Map(peers.subscriber.tracks.map((track) => [track.mid, track]));
      const participants = judgeParticipants(received, byMid, this.server);
      const self = judgeSelf(sent, received, this.server, peers.publisher.publishedSources.length > 0);
      const result = { self, participants };
      this._emit("quality", result);
      return result;
    } finally {
      this._sampling = false;
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

/**
 * One stats entry with what changed since the last measurement of it.
 * @typedef {object} Sample
 * @property {Record<string, any>} stats
 * @property {number} seconds since the last measurement (0: first one)
 * @property {(field: string) => number} delta how much a counter grew
 */

/**
 * The report of one connection, with deltas against the previous one.
 * @param {RTCPeerConnection} pc
 * @param {Map<string, Record<string, number>>} last updated
 * @returns {Promise<Sample[]>}
 */
async function readStats(pc, last) {
  if (pc.connectionState === "closed") return [];
  /** @type {Sample[]} */
  const samples = [];
  (await pc.getStats()).forEach((stats) => {
    if (!["inbound-rtp", "outbound-rtp", "remote-inbound-rtp"].includes(stats.type)) return;
    const key = `${stats.type}:${stats.id}:${stats.ssrc}`;
    const before = last.get(key);
    last.set(key, { ...stats });
    const seconds = before ? (Number(stats.timestamp) - Number(before.timestamp)) / 1000 : 0;
    samples.push({
      stats,
      seconds,
      delta: (field) => (before ? Math.max(0, Number(stats[field] ?? 0) - Number(before[field] ?? 0)) : 0),
    });
  });
  return samples;
}

/**
 * Each remote participant's camera and microphone as we receive them.
 * @param {Sample[]} received
 * @param {Map<string, import("./subscriber.js").RemoteTrack>} tracks by mid
 * @param {ServerReport} server
 * @returns {Map<string, Quality>}
 */
function judgeParticipants(received, tracks, server) {
  /** @type {Map<string, Judge>} */
  const judges = new Map();
  const judgeOf = (/** @type {string} */ id) => {
    let judge = judges.get(id);
    if (!judge) judges.set(id, (judge = new Judge()));
    return judge;
  };
  for (const sample of received) {
    if (sample.stats.type !== "inbound-rtp" || sample.seconds <= 0) continue;
    const track = tracks.get(String(sample.stats.mid));
    if (!track || track.source === "screen") continue;
    const judge = judgeOf(track.participantId);
    const got = sample.delta("packetsReceived");
    const lost = sample.delta("packetsLost");
    if (got + lost > 0) judge.loss(lost / (got + lost), track.kind === "video" ? "quality.reason_loss_their_video" : "quality.reason_loss_their_sound");
    if (got > 0) judge.jitter(Number(sample.stats.jitter ?? 0));
    if (track.kind === "video" && got > 0 && !server.paused.includes(track.participantId)) {
      const fps = Number(sample.stats.framesPerSecond ?? sample.delta("framesDecoded") / sample.seconds);
      judge.fps(fps);
    }
  }
  for (const id of server.paused) judgeOf(id).add("poor", t("quality.reason_paused"), "paused", 1);
  for (const [id, height] of Object.entries(server.layers)) {
    if (height) judges.get(id)?.note("height", height);
  }
  return new Map([...judges].map(([id, judge]) => [id, judge.result()]));
}

/**
 * Our own connection: what we send (the browser's view and the server's),
 * and what we can receive (the server's estimate, loss, paused video).
 * @param {Sample[]} sent
 * @param {Sample[]} received
 * @param {ServerReport} server
 * @param {boolean} publishing
 * @returns {Quality | null} null: nothing to judge yet
 */
function judgeSelf(sent, received, server, publishing) {
  const judge = new Judge();
  if (publishing) {
    const video = sent.filter((s) => s.stats.type === "outbound-rtp" && s.stats.kind === "video");
    const limits = video.filter((s) => s.stats.qualityLimitationReason);
    const reasons = new Set(limits.map((s) => String(s.stats.qualityLimitationReason)));
    // The browser says "bandwidth" whenever its estimate is below what all
    // layers could use (also while it ramps up, and under the server's
    // ceiling): only a low send rate means the others get little of us.
    const timed = video.filter((s) => s.seconds > 0);
    const bps = timed.length ? timed.reduce((sum, s) => sum + (s.delta("bytesSent") * 8) / s.seconds, 0) : null;
    if (bps !== null) judge.note("sent", Math.round(bps));
    if (reasons.has("bandwidth") && bps !== null && bps < LOW_UPLINK.fair) {
      const level = bps < LOW_UPLINK.poor ? "poor" : "fair";
      judge.add(level, t("quality.reason_upload", { kbps: Math.round(bps / 1000) }));
    } else if (reasons.has("cpu")) {
      judge.add("fair", t("quality.reason_cpu"));
    }
    const reports = sent.filter((s) => s.stats.type === "remote-inbound-rtp");
    const lost = Math.max(-1, ...reports.map((s) => Number(s.stats.fractionLost ?? -1)), server.uplinkLoss ?? -1);
    if (lost >= 0) judge.loss(lost, "quality.reason_loss_sent");
    const rtts = reports.map((s) => Number(s.stats.roundTripTime)).filter(Number.isFinite);
    const rtt = rtts.length ? Math.max(...rtts) : server.rtt;
    if (rtt !== null) judge.rtt(rtt);
    if (bps !== null || reports.length || server.uplinkLoss !== null) judge.known = true;
  } else if (server.rtt !== null) {
    judge.rtt(server.rtt);
  }
  // Downlink: the server's loss, else what we measure over everything we receive.
  let got = 0;
  let lost = 0;
  for (const sample of received) {
    if (sample.stats.type !== "inbound-rtp") continue;
    got += sample.delta("packetsReceived");
    lost += sample.delta("packetsLost");
  }
  const downLoss = server.loss ?? (got + lost > 0 ? lost / (got + lost) : null);
  if (downLoss !== null) judge.loss(downLoss, "quality.reason_loss_received");
  if (server.paused.length) judge.add("poor", t("quality.reason_some_paused"), "paused", server.paused.length);
  if (server.estimate !== null) {
    judge.note("estimate", server.estimate);
    if (server.estimate < LOW_ESTIMATE) judge.add("fair", t("quality.reason_download", { kbps: Math.round(server.estimate / 1000) }));
  }
  return judge.known ? judge.result() : null;
}

/** Collects findings; the worst one sets the level. */
class Judge {
  constructor() {
    /** @type {Level} */
    this.level = "good";
    /** @type {string[]} */
    this.reasons = [];
    /** @type {Record<string, number | null>} */
    this.figures = {};
    this.known = false;
  }

  /**
   * @param {Level} level
   * @param {string} [reason]
   * @param {string} [figure]
   * @param {number} [value]
   */
  add(level, reason, figure, value) {
    this.known = true;
    if (figure) this.figures[figure] = value ?? null;
    if (level === "good") return;
    if (RANK[level] > RANK[this.level]) this.level = level;
    if (reason && !this.reasons.includes(reason)) this.reasons.push(reason);
  }

  /**
   * @param {string} figure
   * @param {number} value
   */
  note(figure, value) {
    this.figures[figure] = value;
  }

  /**
   * @param {number} loss 0..1
   * @param {string} what the catalog key of the sentence, with `{percent}`
   */
  loss(loss, what) {
    const worst = Math.max(loss, this.figures.loss ?? 0);
    this.add(grade(loss, LOSS), t(what, { percent: Math.round(loss * 100) }), "loss", worst);
  }

  /** @param {number} fps */
  fps(fps) {
    const level = fps < FPS.poor ? "poor" : fps < FPS.fair ? "fair" : "good";
    this.add(level, t("quality.reason_fps", { fps: Math.round(fps) }), "fps", Math.round(fps * 10) / 10);
  }

  /** @param {number} seconds */
  jitter(seconds) {
    const worst = Math.max(seconds, this.figures.jitter ?? 0);
    this.add(grade(seconds, JITTER), t("quality.reason_jitter", { ms: Math.round(seconds * 1000) }), "jitter", worst);
  }

  /** @param {number} seconds */
  rtt(seconds) {
    this.add(grade(seconds, RTT), t("quality.reason_rtt", { ms: Math.round(seconds * 1000) }), "rtt", seconds);
  }

  /** @returns {Quality} */
  result() {
    return { level: this.level, reasons: [...this.reasons], figures: { ...this.figures } };
  }
}

/**
 * @param {number} value
 * @param {{fair: number, poor: number}} limits
 * @returns {Level}
 */
function grade(value, limits) {
  return value >= limits.poor ? "poor" : value >= limits.fair ? "fair" : "good";
}

/** @param {unknown} value @returns {number | null} */
function nonNegative(value) {
  return typeof value === "number" && Number.isFinite(value) && value >= 0 ? value : null;
}

/** @param {unknown} value @returns {number | null} */
function fraction(value) {
  const number = nonNegative(value);
  return number === null ? null : Math.min(1, number);
}

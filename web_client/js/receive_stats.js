// What the subscribe connection receives, per track and participant:
// `inbound-rtp` counters from getStats() joined with the offer's track list
// (by mid). DOM-free; for diagnostics and tests (`window.meeting.receiveStats()`).

/** @typedef {import("./subscriber.js").Subscriber} Subscriber */

/**
 * @typedef {object} TrackStats
 * @property {string} mid
 * @property {"audio" | "video"} kind
 * @property {string} source
 * @property {string} participantId
 * @property {number} packets packets received so far
 * @property {number} bytes payload bytes received so far
 * @property {number} audioLevel the last audio level (0..1; audio only)
 * @property {number} energy total audio energy so far (grows while sound arrives; audio only)
 * @property {number} framesDecoded (video only)
 */

/**
 * @param {Subscriber | null} subscriber
 * @returns {Promise<TrackStats[]>} one entry per track the server says it sends us
 */
export async function receiveStats(subscriber) {
  if (!subscriber || subscriber.closed) return [];
  const tracks = subscriber.tracks;
  /** @type {Map<string, Record<string, any>>} inbound-rtp by mid */
  const byMid = new Map();
  const report = await subscriber.pc.getStats();
  report.forEach((entry) => {
    if (entry.type === "inbound-rtp" && entry.mid != null) byMid.set(String(entry.mid), entry);
  });
  return tracks.map((track) => {
    const rtp = byMid.get(track.mid) ?? {};
    return {
      mid: track.mid,
      kind: track.kind,
      source: track.source,
      participantId: track.participantId,
      packets: Number(rtp.packetsReceived ?? 0),
      bytes: Number(rtp.bytesReceived ?? 0),
      audioLevel: Number(rtp.audioLevel ?? 0),
      energy: Number(rtp.totalAudioEnergy ?? 0),
      framesDecoded: Number(rtp.framesDecoded ?? 0),
    };
  });
}

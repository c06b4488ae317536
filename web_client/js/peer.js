// Small RTCPeerConnection helpers shared by the publish and subscribe sides. DOM-free.

/** A connection `disconnected` for longer than this counts as failed. */
export const DISCONNECTED_GRACE_MS = 3000;
/** A connection still `connecting` after this long counts as failed. */
export const CONNECT_TIMEOUT_MS = 20000;

/**
 * Watch a peer connection's health.
 * @param {RTCPeerConnection} pc
 * @param {{onConnected?: () => void, onFailed: (why: string) => void}} handlers
 * @returns {() => void} stops watching
 */
export function watchConnection(pc, { onConnected, onFailed }) {
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  let timer;
  let stopped = false;
  const arm = (/** @type {number} */ ms, /** @type {string} */ why) => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      if (!stopped) onFailed(why);
    }, ms);
  };
  const onChange = () => {
    if (stopped) return;
    switch (pc.connectionState) {
      case "connected":
        clearTimeout(timer);
        onConnected?.();
        break;
      case "connecting":
        arm(CONNECT_TIMEOUT_MS, "connect timeout");
        break;
      case "disconnected":
        arm(DISCONNECTED_GRACE_MS, "disconnected");
        break;
      case "failed":
        clearTimeout(timer);
        onFailed("failed");
        break;
      default:
        clearTimeout(timer);
    }
  };
  pc.addEventListener("connectionstatechange", onChange);
  return () => {
    stopped = true;
    clearTimeout(timer);
    pc.removeEventListener("connectionstatechange", onChange);
  };
}

/**
 * Resolve when ICE gathering is complete, or after `timeoutMs` at the latest.
 * @param {RTCPeerConnection} pc
 * @param {number} timeoutMs
 * @returns {Promise<void>}
 */
export function iceGatheringDone(pc, timeoutMs) {
  if (pc.iceGatheringState === "complete") return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      pc.removeEventListener("icegatheringstatechange", onChange);
      resolve();
    };
    const onChange = () => {
      if (pc.iceGatheringState === "complete") done();
    };
    const timer = setTimeout(done, timeoutMs);
    pc.addEventListener("icegatheringstatechange", onChange);
  });
}

/** The codec the SFU forwards for each kind (docs/protocol.md). */
const FORWARDED = { audio: "audio/opus", video: "video/vp8" };

/**
 * Put the forwarded codec first in a transceiver's offer, so the browser
 * sends it even before the server's answer narrows the list.
 * @param {RTCRtpTransceiver} transceiver
 * @param {"audio" | "video"} kind
 */
export function preferForwardedCodec(transceiver, kind) {
  const capabilities = globalThis.RTCRtpSender?.getCapabilities?.(kind);
  if (!capabilities || typeof transceiver.setCodecPreferences !== "function") return;
  const wanted = FORWARDED[kind];
  const first = capabilities.codecs.filter((c) => c.mimeType.toLowerCase() === wanted);
  if (first.length === 0) return;
  const rest = capabilities.codecs.filter((c) => c.mimeType.toLowerCase() !== wanted);
  try {
    transceiver.setCodecPreferences([...first, ...rest]);
  } catch {
    // Some browsers check preferences against receive capabilities only; the
    // server narrows the answer to the forwarded codec anyway.
  }
}

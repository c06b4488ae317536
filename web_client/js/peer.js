// Small RTCPeerConnection helpers shared by the publish and subscribe sides. DOM-free.

/** A connection `disconnected` for longer than this counts as failed. */
export const DISCONNECTED_GRACE_MS = 3000;
/** A negotiated connection not connected after this long counts as failed. */
export const CONNECT_TIMEOUT_MS = 15000;

/**
 * Watch a peer connection's health: `failed`, `disconnected` for longer than
 * DISCONNECTED_GRACE_MS, or negotiated but not connected within
 * CONNECT_TIMEOUT_MS (e.g. no usable candidates: it then stays `new`).
 * @param {RTCPeerConnection} pc
 * @param {{onConnected?: () => void, onFailed: (why: string) => void}} handlers
 * @returns {() => void} stops watching
 */
export function watchConnection(pc, { onConnected, onFailed }) {
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  let timer;
  /** @type {string | null} what the running timer is for */
  let pending = null;
  let stopped = false;
  const clear = () => {
    clearTimeout(timer);
    pending = null;
  };
  const arm = (/** @type {number} */ ms, /** @type {string} */ why) => {
    if (pending === why) return; // keep the first deadline
    clear();
    pending = why;
    timer = setTimeout(() => {
      pending = null;
      if (!stopped) onFailed(why);
    }, ms);
  };
  const negotiated = () => pc.signalingState === "stable" && pc.remoteDescription !== null;
  const onChange = () => {
    if (stopped) return;
    switch (pc.connectionState) {
      case "connected":
        clear();
        onConnected?.();
        break;
      case "new":
      case "connecting":
        if (negotiated()) arm(CONNECT_TIMEOUT_MS, "connect timeout");
        break;
      case "disconnected":
        arm(DISCONNECTED_GRACE_MS, "disconnected");
        break;
      case "failed":
        clear();
        onFailed("failed");
        break;
      default:
        clear();
    }
  };
  pc.addEventListener("connectionstatechange", onChange);
  pc.addEventListener("signalingstatechange", onChange);
  return () => {
    stopped = true;
    clear();
    pc.removeEventListener("connectionstatechange", onChange);
    pc.removeEventListener("signalingstatechange", onChange);
  };
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

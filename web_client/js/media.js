// Local capture devices: camera, microphone, screen. DOM-free (navigator.mediaDevices only).

import { t } from "./i18n.js";

/** @typedef {"microphone" | "camera" | "screen"} Device */

/**
 * Why a device could not be opened.
 * @typedef {"denied" | "not_found" | "in_use" | "unsupported" | "cancelled" | "failed"} DeviceProblem
 */

export const CAMERA_CONSTRAINTS = {
  width: { ideal: 1280 },
  height: { ideal: 720 },
  frameRate: { ideal: 30, max: 30 },
};

export const MICROPHONE_CONSTRAINTS = {
  echoCancellation: true,
  noiseSuppression: true,
  autoGainControl: true,
};

/**
 * Which device to open and how: `deviceId` and, for the microphone, the
 * browser's audio processing (devices.js).
 * @typedef {object} DeviceRequest
 * @property {string | null} [deviceId]
 * @property {boolean} [exact] true: that device or none (a device the person
 *   picked); false: that one if it is there, else the browser's choice (a remembered one)
 * @property {Partial<import("./devices.js").AudioProcessing>} [processing]
 */

/**
 * The camera's constraints for a request.
 * @param {DeviceRequest} [request]
 * @returns {MediaTrackConstraints}
 */
export function cameraConstraints(request = {}) {
  return { ...CAMERA_CONSTRAINTS, ...deviceConstraint(request) };
}

/**
 * The microphone's constraints for a request.
 * @param {DeviceRequest} [request]
 * @returns {MediaTrackConstraints}
 */
export function microphoneConstraints(request = {}) {
  return { ...MICROPHONE_CONSTRAINTS, ...request.processing, ...deviceConstraint(request) };
}

/**
 * Always `exact`: Chromium ignores an `ideal` deviceId while another device
 * of the kind is open. A preferred device that is gone is retried without
 * (`openOne`).
 * @param {DeviceRequest} request
 */
function deviceConstraint({ deviceId }) {
  return deviceId ? { deviceId: { exact: deviceId } } : {};
}

/**
 * The same request without its device, if it only preferred one.
 * @param {DeviceRequest | undefined} request
 * @returns {DeviceRequest | null}
 */
function withoutPreferred(request) {
  return request?.deviceId && !request.exact ? { ...request, deviceId: null } : null;
}

/** A device that could not be opened, with a sentence a person understands. */
export class DeviceError extends Error {
  /**
   * @param {Device} device
   * @param {DeviceProblem} problem
   * @param {unknown} [cause]
   */
  constructor(device, problem, cause) {
    super(describe(device, problem));
    this.name = "DeviceError";
    this.device = device;
    this.problem = problem;
    this.cause = cause;
  }
}

/** True if this browser can capture camera and microphone here (needs a secure context). */
export function canCapture() {
  return Boolean(globalThis.navigator?.mediaDevices?.getUserMedia);
}

/** True if this browser can share the screen. */
export function canShareScreen() {
  return Boolean(globalThis.navigator?.mediaDevices?.getDisplayMedia);
}

/**
 * Open the wanted devices. A device that fails does not stop the other one.
 * @param {{microphone: boolean, camera: boolean}} wanted
 * @param {{microphone?: DeviceRequest, camera?: DeviceRequest}} [requests] which devices, how
 * @returns {Promise<{microphone: MediaStreamTrack | null, camera: MediaStreamTrack | null,
 *   errors: DeviceError[]}>}
 */
export async function openDevices(wanted, requests = {}) {
  /** @type {{microphone: MediaStreamTrack | null, camera: MediaStreamTrack | null, errors: DeviceError[]}} */
  const result = { microphone: null, camera: null, errors: [] };
  if (!wanted.microphone && !wanted.camera) return result;
  if (!canCapture()) {
    if (wanted.microphone) result.errors.push(new DeviceError("microphone", "unsupported"));
    if (wanted.camera) result.errors.push(new DeviceError("camera", "unsupported"));
    return result;
  }
  if (wanted.microphone && wanted.camera) {
    // One prompt for both when possible; the browser refuses the pair if
    // either is missing or blocked, so then ask for each on its own.
    try {
      const stream = await navigator.mediaDevices.getUserMedia({
        audio: microphoneConstraints(requests.microphone),
        video: cameraConstraints(requests.camera),
      });
      result.microphone = stream.getAudioTracks()[0] ?? null;
      result.camera = stream.getVideoTracks()[0] ?? null;
      return result;
    } catch {
      // fall through to one device at a time
    }
  }
  for (const device of /** @type {const} */ (["microphone", "camera"])) {
    if (!wanted[device]) continue;
    try {
      result[device] = device === "camera" ? await openCamera(requests.camera) : await openMicrophone(requests.microphone);
    } catch (error) {
      result.errors.push(toDeviceError(device, error));
    }
  }
  return result;
}

/**
 * @param {DeviceRequest} [request]
 * @returns {Promise<MediaStreamTrack>} @throws {DeviceError}
 */
export async function openCamera(request) {
  return openOne("camera", request);
}

/**
 * @param {DeviceRequest} [request]
 * @returns {Promise<MediaStreamTrack>} @throws {DeviceError}
 */
export async function openMicrophone(request) {
  return openOne("microphone", request);
}

/**
 * Ask the person to pick a screen, window or tab to share.
 * @returns {Promise<MediaStreamTrack>}
 * @throws {DeviceError}
 */
export async function openScreen() {
  if (!canShareScreen()) throw new DeviceError("screen", "unsupported");
  let stream;
  try {
    stream = await navigator.mediaDevices.getDisplayMedia({
      video: { frameRate: { ideal: 15, max: 30 } },
      audio: false,
    });
  } catch (error) {
    throw toDeviceError("screen", error);
  }
  const track = stream.getVideoTracks()[0];
  if (!track) throw new DeviceError("screen", "failed");
  track.contentHint = "detail"; // favour sharp text over frame rate
  return track;
}

/**
 * @param {"camera" | "microphone"} device
 * @param {DeviceRequest | undefined} request
 * @returns {Promise<MediaStreamTrack>}
 */
async function openOne(device, request) {
  const constraints = (/** @type {DeviceRequest | undefined} */ r) =>
    device === "camera" ? { video: cameraConstraints(r) } : { audio: microphoneConstraints(r) };
  try {
    return await openWith(device, constraints(request));
  } catch (error) {
    // A remembered device that is not there (now): any other one.
    const fallback = withoutPreferred(request);
    if (!fallback || !(error instanceof DeviceError) || !["not_found", "failed"].includes(error.problem)) throw error;
    return openWith(device, constraints(fallback));
  }
}

/**
 * @param {Device} device
 * @param {MediaStreamConstraints} constraints
 * @returns {Promise<MediaStreamTrack>}
 */
async function openWith(device, constraints) {
  if (!canCapture()) throw new DeviceError(device, "unsupported");
  try {
    const stream = await navigator.mediaDevices.getUserMedia(constraints);
    const track = stream.getTracks()[0];
    if (!track) throw new DeviceError(device, "not_found");
    return track;
  } catch (error) {
    throw toDeviceError(device, error);
  }
}

/**
 * @param {Device} device
 * @param {unknown} error
 * @returns {DeviceError}
 */
export function toDeviceError(device, error) {
  if (error instanceof DeviceError) return error;
  const name = /** @type {{name?: string}} */ (error)?.name;
  /** @type {DeviceProblem} */
  let problem = "failed";
  if (name === "NotAllowedError" || name === "SecurityError" || name === "PermissionDeniedError") {
    // Cancelling the screen picker is also a NotAllowedError.
    problem = device === "screen" ? "cancelled" : "denied";
  } else if (name === "NotFoundError" || name === "OverconstrainedError" || name === "DevicesNotFoundError") {
    problem = "not_found";
  } else if (name === "NotReadableError" || name === "AbortError" || name === "TrackStartError") {
    problem = "in_use";
  } else if (name === "TypeError" || name === "NotSupportedError") {
    problem = "unsupported";
  }
  return new DeviceError(device, problem, error);
}

/**
 * @param {Device} device
 * @param {DeviceProblem} problem
 */
function describe(device, problem) {
  const known = ["denied", "not_found", "in_use", "unsupported", "cancelled"];
  return t(`devices.${device}_${known.includes(problem) ? problem : "failed"}`);
}

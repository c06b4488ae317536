// Entry point of room.html (/r/{room}): wires the session to the UI modules.

import { LANGUAGE_CHANGED, errorText, events, setAttr, setText, t, translate } from "./i18n.js";
import { clientId, hostKeyFor } from "./identity.js";
import { markStep } from "./join_marks.js";
import { DevicePreferences } from "./devices.js";
import { canShareScreen } from "./media.js";
import { cleanName, isValidRoom } from "./protocol.js";
import { RecordingConsent } from "./recording_consent.js";
import { RoomDevices } from "./room_devices.js";
import { HybridRoom } from "./room_hybrid.js";
import { MeetingSession } from "./session.js";
import { AudioSink } from "./ui/audio.js";
import { Controls } from "./ui/controls.js";
import { DeviceSettings, DevicesDialog } from "./ui/device_settings.js";
import { Gallery } from "./ui/gallery.js";
import { KEYBOARD } from "./ui/icons.js";
import { fitControlBar } from "./ui/bar_fit.js";
import { languageSwitch } from "./ui/language_switch.js";
import { PrejoinView } from "./ui/prejoin.js";
import { wireConnectionQuality } from "./ui/quality_indicator.js";
import { ConsentView, changeText } from "./ui/recording_notice.js";
import { Shortcuts } from "./ui/shortcuts.js";
import { barButton } from "./ui/side_panel.js";
import { StatusArea } from "./ui/status.js";

/** @typedef {import("./session.js").State} State */
/** @typedef {import("./subscriber.js").RemoteTrack} RemoteTrack */
/** @typedef {import("./media.js").DeviceError} DeviceError */
/** @typedef {import("./protocol.js").Participant} Participant */

const NAME_KEY = "conf.display-name";
/**
 * How long after joining the chat, polls and menus load when media is not
 * up by then: nothing is on its way (e.g. publishing waits for the person),
 * or at the latest INTERACTION_UI_MEDIA_WAIT_MS while media is still coming
 * up (a slow network or a busy machine).
 */
const INTERACTION_UI_AT_LATEST_MS = 1500;
const INTERACTION_UI_MEDIA_WAIT_MS = 6000;
/** Once media is up, how long they wait at most for the others' first frames, then for an idle moment. */
const INTERACTION_UI_FRAMES_WAIT_MS = 500;
const INTERACTION_UI_IDLE_WAIT_MS = 500;

const $ = (/** @type {string} */ selector) => /** @type {HTMLElement} */ (document.querySelector(selector));

const params = new URLSearchParams(location.search);
const status = new StatusArea($('[data-testid="status"]'));

main();

function main() {
  markStep("page: script runs");
  translate(document);
  const room = roomFromPath(location.pathname);
  if (room === null) {
    fatal(t("room.invalid_link"));
    return;
  }
  setText(/** @type {HTMLElement} */ (document.querySelector("title")), "room.page_title", { room });
  const problem = browserProblem();
  if (problem) {
    fatal(problem);
    return;
  }
  const autojoin = params.get("autojoin") === "1";
  const session = new MeetingSession({
    room,
    clientId: clientId(),
    hostKey: hostKeyFor(room, params.get("host_key")),
    passcode: params.get("passcode"),
  });
  hideHostKey();
  /** @type {any} */ (window).meeting = session;
  const hybrid = new HybridRoom(session, params);
  // The remembered camera and microphone (localStorage: nothing to wait for).
  const prefs = new DevicePreferences(hybrid.presence.mode);
  RoomDevices.prefer(session, prefs);
  // The camera and microphone first: the browser opens them while the page
  // is built and, with autojoin, while the join is on its way (issue 21).
  const devices = session.openDevices(hybrid.devices);
  if (autojoin) session.connect();
  const ui = buildUi(session, room, hybrid, prefs);
  markStep("page: views built");
  void devices.then(() => ui.devices.refresh());
  ui.prejoin.setPlace(hybrid.place); // shown again if a passcode or check-in code is asked for
  if (hybrid.presence.mode === "room") ui.prejoin.hidePlace();

  // A room device is named after its room unless the link names it.
  const givenName = cleanName(params.get("name") ?? "") ?? (hybrid.presence.mode === "room" ? hybrid.presence.zone : null);
  if (autojoin) {
    ui.prejoin.setName(givenName ?? "Guest");
    // Joining does not wait for the devices: publishing does (session_media.js).
    void session.join(givenName ?? "Guest");
    void devices.then((errors) => reportDeviceErrors(errors, true));
    return;
  }
  ui.prejoin.setName(givenName ?? cleanName(readStoredName()) ?? "");
  ui.prejoin.show();
  void devices.then((errors) => reportDeviceErrors(errors, false));
}

/**
 * @typedef {object} Views
 * @property {Gallery} gallery
 * @property {AudioSink} audio
 * @property {HybridRoom} hybrid
 * @property {Controls} controls
 * @property {PrejoinView} prejoin
 * @property {RoomDevices} devices which camera, microphone and speaker
 */

/**
 * Build the page's views and connect them to the session.
 * @param {MeetingSession} session
 * @param {string} room
 * @param {HybridRoom} hybrid
 * @param {DevicePreferences} prefs
 * @returns {Views}
 */
function buildUi(session, room, hybrid, prefs) {
  const audio = new AudioSink($("#audio-sink"), {
    muted: !hybrid.speakerOn,
    onBlocked: () => {
      const enable = () => {
        audio.resume();
        status.clear("sound");
      };
      status.show("sound", "warning", t("room.sound_blocked"), {
        actions: [{ label: t("room.enable_sound"), testid: "enable-sound-button", run: enable }],
      });
    },
  });
  const devices = new RoomDevices(session, hybrid, prefs, (level, key, text) =>
    status.show(key, level, text, { dismissible: true }),
  );
  devices.wire(audio);
  /** @type {DevicesDialog | null} made when first opened */
  let devicesDialog = null;
  const views = {
    devices,
    gallery: new Gallery($('[data-testid="gallery"]'), {
      pageSize: hybrid.pageSize,
      onView: (ids, details) => hybrid.viewSync.update(ids, details),
    }),
    audio,
    hybrid,
    controls: new Controls($(".controls-buttons"), {
      onMic: () => void hybrid.toggleMic(),
      onCamera: () => void session.setCameraEnabled(!session.cameraOn),
      onSpeaker: () => void hybrid.toggleSpeaker(),
      onDevices: () => {
        devicesDialog ??= new DevicesDialog(devices);
        devicesDialog.open(views.controls.devices);
      },
      onScreen: () => void (session.sharing ? session.stopScreenShare() : session.startScreenShare()),
      onLeave: () => void session.leave(),
    }),
    prejoin: new PrejoinView($("#prejoin"), room, {
      onJoin: (name, passcode, place) => {
        storeName(name);
        if (passcode) session.passcode = passcode;
        hybrid.choose(place);
        void session.join(name);
      },
      onToggleMic: () => void hybrid.toggleMic(),
      onToggleCamera: () => void session.setCameraEnabled(!session.cameraOn),
      onCompanion: (companion) => hybrid.setCompanion(companion),
    }),
  };
  views.prejoin.attachDevices(() => new DeviceSettings($(".prejoin-devices"), devices));
  hybrid.wire({ gallery: views.gallery, audio, banner: $('[data-testid="checkin-banner"]'), room });
  hybrid.addEventListener("change", () => refreshControls(session, views));
  $(".room-name").textContent = room;
  $(".bar-info").append(languageSwitch("meeting-language"));
  fitControlBar($("footer.controls"), $(".bar-info"));
  $(".waiting-room").textContent = room;
  $('[data-testid="waiting-leave-button"]').addEventListener("click", () => void session.leave());
  $("#end-screen button").addEventListener("click", () => location.assign("/"));
  wireRoster(session, views);
  wireMedia(session, views);
  wireConnectionQuality(session, views.gallery, status);
  wireRecordingNotice(session, hybrid.presence.mode !== "room");
  loadInteractionUi(session, {
    room,
    gallery: views.gallery,
    status,
    leaveButton: views.controls.leave,
    panelButtons: $(".controls-panels"),
    sideRoot: $(".side-panel"),
    floatingRoot: $(".floating"),
    indicatorRoot: $(".meeting"),
    captionsRoot: $('[data-testid="captions"]'),
  });
  session.interaction.addEventListener("self", () => refreshControls(session, views));
  session.interaction.addEventListener("meeting", () => refreshControls(session, views));
  addEventListener("pagehide", () => {
    // A clean disconnect: the others see us leave at once, not after a grace period.
    if (["joined", "reconnecting", "joining", "waiting"].includes(session.state)) session.leaveNow();
  });
  refreshControls(session, views);
  events.addEventListener(LANGUAGE_CHANGED, () => refreshControls(session, views));
  wireShortcuts();
  return views;
}

/** Keyboard shortcuts (M, V, H, C, Shift+L) and their list (?), also opened from the control bar. */
function wireShortcuts() {
  const shortcuts = new Shortcuts(document);
  // Catalog keys, not texts: a language switch translates the button again.
  const button = barButton("shortcuts-button", KEYBOARD, { key: "shortcuts.button" });
  setAttr(setAttr(button, "aria-label", "a11y.shortcuts_button"), "title", "shortcuts.title");
  button.setAttribute("aria-keyshortcuts", "?");
  button.setAttribute("aria-haspopup", "dialog");
  button.addEventListener("click", () => shortcuts.openHelp());
  $(".controls-panels").append(button);
}

/**
 * The notice before publishing in a meeting that is being recorded: part of
 * the page from the start, since it holds publishing back.
 * @param {MeetingSession} session
 * @param {boolean} ask false for a room device (nobody answers the notice; it is only told)
 */
function wireRecordingNotice(session, ask) {
  const consent = new RecordingConsent(session, { ask });
  new ConsentView(consent);
  consent.addEventListener("started", (event) => {
    const { recording, by } = /** @type {CustomEvent} */ (event).detail;
    const text = `${changeText(recording, null, by)} ${t("recording.everyone_recorded")}`;
    status.show("recording", "info", text, { dismissible: true, timeoutMs: 10000 });
  });
}

/**
 * Hands, chat, reactions, polls, people, the host menu, the lobby and the
 * recording controls load once media is up (both connections, or those
 * with something to carry), when the others' first frames are painted
 * and the page is idle; else INTERACTION_UI_AT_LATEST_MS after joining.
 * Building them takes the page's thread for 50-80 ms (a few hundred on a
 * busy machine): before, it held up the joining page's first remote
 * frames and its publishing (issue 21).
 * @param {MeetingSession} session
 * @param {Parameters<typeof import("./room_meeting.js").buildInteractionUi>[1]} places
 */
function loadInteractionUi(session, places) {
  let requested = false;
  const load = () => {
    if (requested) return;
    requested = true;
    import("./room_meeting.js")
      .then(({ buildInteractionUi }) => {
        buildInteractionUi(session, places);
        markStep("interaction views built");
      })
      .catch((error) => {
        console.error("could not load the meeting's interaction views:", error);
        status.show("interaction", "error", t("room.interaction_failed"), {
          actions: [{ label: t("room.reload"), testid: "reload-button", run: () => location.reload() }],
        });
      });
  };
  const whenIdle = () =>
    "requestIdleCallback" in window ? requestIdleCallback(load, { timeout: INTERACTION_UI_IDLE_WAIT_MS }) : setTimeout(load, 200);
  /** Media came up (our publishing connection may come up before the others' media, or after). */
  let up = false;
  const afterFrames = () => {
    if (requested || !up || session.state !== "joined") return; // the tiles are there once joined
    void places.gallery.whenVideosShown(INTERACTION_UI_FRAMES_WAIT_MS).then(whenIdle);
  };
  session.addEventListener("mediaup", () => {
    up = !session.mediaPending;
    afterFrames();
  });
  on(session, "state", ({ state }) => {
    if (state !== "joined" || requested) return;
    afterFrames();
    setTimeout(() => {
      if (!session.mediaPending) load();
    }, INTERACTION_UI_AT_LATEST_MS);
    setTimeout(load, INTERACTION_UI_MEDIA_WAIT_MS);
  });
}

/**
 * @param {MeetingSession} session
 * @param {string} type
 * @param {(detail: any) => void} handler
 */
function on(session, type, handler) {
  session.addEventListener(type, (event) => handler(/** @type {CustomEvent} */ (event).detail));
}

/**
 * Session state, participants and the active speaker.
 * @param {MeetingSession} session
 * @param {Views} views
 */
function wireRoster(session, views) {
  const { gallery, audio, prejoin } = views;
  const count = $('[data-testid="participant-count"]');
  const refreshCount = () => {
    const n = session.participants.length;
    setText(count, "room.participant_count", { count: n });
  };
  on(session, "state", ({ state, previous, message, code }) => {
    showState(session, { state, previous, message, code }, prejoin);
    if (state === "left" || state === "removed" || state === "ended") {
      gallery.clear();
      audio.clear();
    }
    refreshControls(session, views);
  });
  on(session, "participants", (/** @type {{participants: Participant[]}} */ { participants }) => {
    gallery.reset(participants, session.participantId);
    const ids = new Set(participants.map((p) => p.id));
    for (const el of document.querySelectorAll('[data-testid="remote-audio"]')) {
      const id = /** @type {HTMLElement} */ (el).dataset.participantId ?? "";
      if (!ids.has(id)) audio.removeParticipant(id);
    }
    showLocalScreen(session, gallery);
    refreshCount();
  });
  on(session, "participantjoined", ({ participant }) => {
    gallery.upsert(participant);
    refreshCount();
  });
  on(session, "participantupdated", ({ participant }) => gallery.upsert(participant));
  on(session, "participantleft", ({ participantId }) => {
    gallery.remove(participantId);
    audio.removeParticipant(participantId);
    refreshCount();
  });
  on(session, "activespeaker", ({ participantId }) => gallery.setSpeaker(participantId));
  on(session, "notice", ({ level, code, message }) =>
    status.show(code, level, message, { dismissible: true, timeoutMs: level === "info" ? 5000 : undefined }),
  );
}

/**
 * Remote and local tracks.
 * @param {MeetingSession} session
 * @param {Views} views
 */
function wireMedia(session, views) {
  const { gallery, audio, prejoin } = views;
  on(session, "trackadded", (/** @type {RemoteTrack} */ remote) => {
    if (remote.participantId === session.participantId) return;
    if (remote.kind === "audio") audio.add(remote);
    else if (remote.source === "screen") gallery.addScreen(remote.participantId, remote.track, remote.producerId);
    else gallery.setCamera(remote.participantId, remote.track, remote.producerId);
  });
  on(session, "trackended", (/** @type {RemoteTrack} */ remote) => {
    if (remote.kind === "audio") audio.remove(remote.producerId);
    else if (remote.source === "screen") gallery.removeScreen(remote.participantId, remote.producerId);
    else gallery.setCamera(remote.participantId, null, remote.producerId);
  });
  on(session, "localtrack", ({ source, track }) => {
    if (source === "camera") {
      gallery.setLocalCamera(track);
      prejoin.setPreview(track);
    } else if (source === "screen") {
      if (track) showLocalScreen(session, gallery);
      else if (session.participantId) gallery.removeScreen(session.participantId, "local");
    }
  });
  on(session, "localstate", () => refreshControls(session, views));
}

/**
 * @param {MeetingSession} session
 * @param {Gallery} gallery
 */
function showLocalScreen(session, gallery) {
  if (session.local.screen && session.participantId) {
    gallery.addScreen(session.participantId, session.local.screen, "local");
  }
}

/**
 * @param {MeetingSession} session
 * @param {Views} views
 */
function refreshControls(session, { controls, prejoin, hybrid }) {
  controls.update({
    speakerOn: hybrid.speakerOn,
    inRoom: hybrid.roomName,
    micMuted: session.micMuted,
    cameraOn: session.cameraOn,
    sharing: session.sharing,
    canShare: canShareScreen(),
    audioAllowed: session.audioAllowed,
    inMeeting: session.state === "joined" || session.state === "reconnecting",
    micLocked: session.interaction.micLocked,
  });
  prejoin.setLocalState(session);
}

/** Join refusals that trying again will not cure: no "Rejoin" button. */
const HOPELESS = new Set(["banned", "meeting_ended"]);

/**
 * Reflect the session state on the page: body[data-state], the views, the status line.
 * @param {MeetingSession} session
 * @param {{state: State, previous: State, message?: string, code?: string}} change
 * @param {PrejoinView} prejoin
 */
function showState(session, { state, previous, message, code }, prejoin) {
  if (state === "failed" && (code === "wrong_passcode" || code === "unknown_checkin")) {
    // Ask for the passcode or the room code on the pre-join screen, then join again from there.
    document.body.dataset.state = "prejoin";
    status.clear("connection");
    prejoin.setBusy(false);
    const given = session.passcode;
    if (code === "wrong_passcode") {
      prejoin.askPasscode(given ?? "", given ? t("prejoin.passcode_wrong") : t("prejoin.passcode_needed"));
    }
    prejoin.setPreview(session.local.camera);
    prejoin.show();
    if (code === "unknown_checkin") {
      prejoin.askCheckin(t("prejoin.checkin_wrong"));
    }
    return;
  }
  document.body.dataset.state = state;
  if (state !== "prejoin") prejoin.hide();
  prejoin.setBusy(state === "joining");
  showFullScreens(state);
  const rejoin = {
    label: t("room.rejoin"),
    testid: "rejoin-button",
    run: () => void session.rejoin().then((errors) => reportDeviceErrors(errors, true)),
  };
  const home = { label: t("end.home"), testid: "home-button", run: () => location.assign("/") };
  switch (state) {
    case "joining":
      status.show("connection", "info", t("room.joining"));
      break;
    case "joined":
      if (previous === "reconnecting") {
        status.show("connection", "info", t("room.reconnected"), { timeoutMs: 3000 });
      } else {
        status.clear("connection");
      }
      break;
    case "reconnecting":
      status.show("connection", "warning", t("room.reconnecting"));
      break;
    case "waiting":
      status.clear("connection");
      break;
    case "failed":
      status.show("connection", "error", failureText(code, message), {
        actions: code && HOPELESS.has(code) ? [home] : [{ ...rejoin, label: code ? t("room.try_again") : t("room.rejoin") }, home],
      });
      break;
    case "removed":
    case "ended":
      status.clear("connection");
      break;
    case "left":
      status.show("connection", "info", t("room.left"), { actions: [rejoin, home] });
      break;
    default:
      break;
  }
}

/**
 * Say which devices could not be opened and what that means for joining.
 * @param {DeviceError[]} errors
 * @param {boolean} joining
 */
function reportDeviceErrors(errors, joining) {
  const devices = new Set(errors.map((e) => e.device));
  if (devices.has("camera") && devices.has("microphone")) {
    const text = errors.map((e) => e.message).join(" ");
    const then = t(joining ? "devices.joining_receive_only" : "devices.will_join_receive_only");
    status.show("devices", "warning", `${text} ${then}`, {
      dismissible: true,
    });
    return;
  }
  for (const error of errors) {
    const then = t(joining ? `devices.joining_without_${error.device}` : `devices.will_join_without_${error.device}`);
    status.show(error.device, "warning", `${error.message} ${then}`, {
      dismissible: true,
    });
  }
}

/**
 * The waiting screen (lobby) and the "removed" / "ended" page.
 * @param {State} state
 */
function showFullScreens(state) {
  $("#waiting-screen").hidden = state !== "waiting";
  const end = $("#end-screen");
  end.hidden = state !== "removed" && state !== "ended";
  if (end.hidden) return;
  $("#end-title").textContent = state === "removed" ? t("end.removed_title") : t("end.ended_title");
  const fallback = state === "removed" ? t("end.removed_text") : t("end.ended_text");
  // The catalog's sentence, not the server's (English) message: the page speaks the person's language.
  $('[data-testid="end-message"]').textContent = fallback;
  /** @type {HTMLElement} */ (end.querySelector("button")).focus();
}

/** Take the host key out of the address bar (it is kept for this tab). */
function hideHostKey() {
  if (!params.has("host_key")) return;
  const url = new URL(location.href);
  url.searchParams.delete("host_key");
  history.replaceState(history.state, "", url);
}

/** @param {string} message */
function fatal(message) {
  document.body.dataset.state = "failed";
  status.show("connection", "error", message, {
    actions: [{ label: t("end.home"), testid: "home-button", run: () => location.assign("/") }],
  });
}

/**
 * The room of a /r/{room} path, or null if it is not a valid room name.
 * @param {string} path
 */
function roomFromPath(path) {
  const match = /^\/r\/([^/]+)\/?$/.exec(path);
  if (!match) return null;
  let room;
  try {
    room = decodeURIComponent(match[1]);
  } catch {
    return null;
  }
  return isValidRoom(room) ? room : null;
}

/** A reason this browser cannot take part, or null. */
function browserProblem() {
  const missing =
    typeof RTCPeerConnection !== "function" ||
    typeof RTCRtpTransceiver === "undefined" ||
    typeof MediaStream !== "function" ||
    typeof ResizeObserver !== "function";
  return missing ? t("room.browser_unsupported") : null;
}

/**
 * What to say when joining or the connection failed: the session's message
 * (from the catalog, with the server's error code mapped), else a generic one.
 * @param {string | undefined} code
 * @param {string | undefined} message
 */
function failureText(code, message) {
  // The session's message is already in the page's language (join.js: joinFailureMessage).
  return message || (code ? errorText(code) : t("room.connection_failed"));
}

function readStoredName() {
  try {
    return localStorage.getItem(NAME_KEY) ?? "";
  } catch {
    return "";
  }
}

/** @param {string} name */
function storeName(name) {
  try {
    localStorage.setItem(NAME_KEY, name);
  } catch {
    // private mode: nothing to remember
  }
}

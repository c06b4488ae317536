// Wires the meeting-interaction views (hands, chat, reactions, polls, people,
// host menu, lobby, recording controls) to the session's MeetingInteraction.
// room.js loads it (a separate chunk) once media is up: they render from the
// interaction's state when built, so nothing that happened before is lost.

import { LANGUAGE_CHANGED, events, t } from "./i18n.js";
import { Announcer } from "./ui/announcer.js";
import { CaptionsView } from "./ui/captions.js";
import { ChatView } from "./ui/chat.js";
import { DecisionsView } from "./ui/decisions.js";
import { HandsView } from "./ui/hands.js";
import { LeaderboardView, ParticipationSettings } from "./ui/leaderboard.js";
import { CAPTIONS, CHAT, HAND, HANDS_LIST, MORE, PEOPLE, POLL, SMILE, SPOTLIGHT } from "./ui/icons.js";
import { LobbyView } from "./ui/lobby.js";
import { MeetingMenu } from "./ui/meeting_menu.js";
import { ParticipantsView } from "./ui/participants.js";
import { PollsView } from "./ui/polls.js";
import { QuestionnairesView } from "./ui/questionnaire.js";
import { ReactionsView } from "./ui/reactions.js";
import { RecordControls, RecordingIndicator, RecordingLinks } from "./ui/recording.js";
import { withKey } from "./ui/shortcuts.js";
import { SidePanel, barButton, setBadge } from "./ui/side_panel.js";

/** @typedef {import("./session.js").MeetingSession} MeetingSession */
/** @typedef {import("./ui/gallery.js").Gallery} Gallery */
/** @typedef {import("./ui/status.js").StatusArea} StatusArea */
/** @typedef {import("./protocol.js").Poll} Poll */

/**
 * @typedef {object} InteractionUi
 * @property {SidePanel} side
 * @property {() => void} refresh render every view again
 */

/**
 * @param {MeetingSession} session
 * @param {{room: string, gallery: Gallery, status: StatusArea, leaveButton: HTMLElement,
 *   panelButtons: HTMLElement, sideRoot: HTMLElement, floatingRoot: HTMLElement,
 *   indicatorRoot: HTMLElement, captionsRoot: HTMLElement}} places
 * @returns {InteractionUi}
 */
export function buildInteractionUi(session, places) {
  const { room, gallery, status, leaveButton, panelButtons, sideRoot, floatingRoot } = places;
  const i = session.interaction;
  const nameOf = (/** @type {string} */ id) => session.participants.find((p) => p.id === id)?.name ?? t("common.someone");
  const showError = (/** @type {string} */ message) =>
    status.show("interaction", "warning", message, { dismissible: true, timeoutMs: 8000 });

  const raise = barButton("raise-hand-button", HAND, { key: "hands.raise" });
  raise.setAttribute("aria-pressed", "false");
  raise.setAttribute("aria-keyshortcuts", "H");
  const react = barButton("reactions-button", SMILE, { key: "reactions.button" });
  leaveButton.before(raise, react);
  const buttons = {
    participants: barButton("participants-button", PEOPLE, { key: "panel.people" }),
    chat: barButton("chat-button", CHAT, { key: "panel.chat" }),
    hands: barButton("hands-button", HANDS_LIST, { key: "panel.hands" }),
    polls: barButton("polls-button", POLL, { key: "panel.polls" }),
    menu: barButton("meeting-menu-button", MORE, { key: "menu.button" }),
    captions: barButton("captions-button", CAPTIONS, { key: "captions.button" }),
    decisions: barButton("decisions-button", HANDS_LIST, { key: "panel.decisions" }),
    leaderboard: barButton("leaderboard-button", SPOTLIGHT, { key: "panel.leaderboard" }),
  };
  buttons.menu.setAttribute("aria-label", t("a11y.menu_button"));
  buttons.menu.title = t("menu.title");
  buttons.chat.title = withKey(t("panel.chat"), "C");
  buttons.chat.setAttribute("aria-keyshortcuts", "C");
  // Before the shortcuts button room.js put there.
  panelButtons.prepend(buttons.captions, buttons.participants, buttons.chat, buttons.hands, buttons.polls, buttons.decisions, buttons.leaderboard, buttons.menu);

  const side = new SidePanel(sideRoot);
  const lobby = new LobbyView({ root: floatingRoot, interaction: i });
  const participants = new ParticipantsView({
    body: side.add("participants", { key: "panel.people" }, "participants-panel", buttons.participants),
    interaction: i,
    participants: () => session.participants,
    onShowLobby: () => lobby.show(),
  });
  const chat = new ChatView({
    button: buttons.chat,
    body: side.add("chat", { key: "panel.chat" }, "chat-panel", buttons.chat),
    interaction: i,
    isOpen: () => side.isOpen("chat"),
  });
  const hands = new HandsView({
    raiseButton: raise,
    panelButton: buttons.hands,
    body: side.add("hands", { key: "panel.raised_hands" }, "hands-panel", buttons.hands),
    interaction: i,
    nameOf,
    onError: showError,
  });
  const pollsBody = side.add("polls", { key: "panel.polls" }, "polls-panel", buttons.polls);
  const polls = new PollsView({ button: buttons.polls, body: pollsBody, interaction: i });
  // Questionnaires share the polls panel (below the polls); they render on their own events.
  const questionnaires = new QuestionnairesView({ body: pollsBody, interaction: i });
  const decisions = new DecisionsView({
    button: buttons.decisions,
    body: side.add("decisions", { key: "panel.decisions" }, "decisions-panel", buttons.decisions),
    interaction: i,
  });
  const leaderboard = new LeaderboardView({
    button: buttons.leaderboard,
    body: side.add("leaderboard", { key: "panel.leaderboard" }, "leaderboard-panel", buttons.leaderboard),
    interaction: i,
    isOpen: () => side.isOpen("leaderboard"),
  });
  const participation = new ParticipationSettings({ interaction: i, onError: showError });
  const record = new RecordControls(i);
  const recordingLinks = new RecordingLinks(i);
  const menu = new MeetingMenu({ button: buttons.menu, interaction: i, room, sections: [record.el, recordingLinks.el, participation.el] });
  const indicator = new RecordingIndicator(places.indicatorRoot);
  // Screen readers hear joins, leaves, called hands and opened polls (a11y).
  const announcer = new Announcer(floatingRoot);
  announcer.known(session.participants);
  announcer.polls(i.polls, true);
  const captions = new CaptionsView({
    button: buttons.captions,
    area: places.captionsRoot,
    interaction: i,
    onError: showError,
    onStopped: (message) => status.show("captions", "warning", message, { dismissible: true }),
  });
  const reactions = new ReactionsView({ button: react, interaction: i, tileOf: (id) => gallery.tileElement(id), onError: showError });
  side.onChange((name) => {
    leaderboard.toggled();
    if (name === "chat") chat.opened();
    if (name === "polls") status.clear("poll");
  });

  const refreshLobby = (/** @type {import("./protocol.js").LobbyEntry[]} */ arrived = []) => {
    lobby.render(arrived);
    setBadge(buttons.participants, i.isModerator ? i.lobby.length : 0, t("lobby.badge_waiting"));
  };
  const refreshHands = () => {
    hands.render();
    gallery.setHands(i.hands);
  };
  /** @type {Set<string>} open polls already announced */
  const announced = new Set();
  const refreshPolls = () => {
    polls.render();
    for (const poll of polls.waitingForVote()) {
      if (announced.has(poll.poll_id)) continue;
      announced.add(poll.poll_id);
      if (!side.isOpen("polls")) announcePoll(status, poll, () => side.open("polls"));
    }
  };
  const refresh = () => {
    refreshHands();
    chat.render();
    refreshPolls();
    questionnaires.render();
    decisions.render();
    leaderboard.render();
    participation.render();
    participants.render();
    menu.render();
    record.render();
    recordingLinks.render();
    indicator.render(i.recording);
    captions.render();
    refreshLobby();
  };

  const on = (/** @type {EventTarget} */ target, /** @type {string} */ type, /** @type {(detail: any) => void} */ handler) =>
    target.addEventListener(type, (event) => handler(/** @type {CustomEvent} */ (event).detail));
  on(i, "meeting", () => {
    captions.resend();
    for (const poll of i.polls) if (poll.state === "open" && poll.voted) announced.add(poll.poll_id);
    announcer.polls(i.polls, true); // a11y: what was open at join is not news
    refresh();
  });
  on(i, "hands", () => {
    refreshHands();
    participants.render();
  });
  on(i, "handcalled", ({ name, self }) => {
    const text = self ? t("hands.you_are_up", { name }) : t("hands.host_called", { name });
    status.show("hand-called", "info", text, { dismissible: true, timeoutMs: 8000 });
    announcer.handCalled(name, self); // a11y
  });
  on(i, "chat", ({ message }) => chat.added(message));
  on(i, "reaction", ({ participantId, emoji }) => reactions.burst(participantId, emoji, nameOf(participantId)));
  on(i, "polls", () => {
    refreshPolls();
    announcer.polls(i.polls); // a11y
  });
  on(i, "decisions", () => decisions.render());
  on(i, "participation", () => {
    leaderboard.render();
    participation.render();
    if (buttons.leaderboard.hidden && side.isOpen("leaderboard")) side.close();
  });
  on(i, "settings", () => menu.render());
  on(i, "captions", () => menu.render());
  on(i, "lobby", ({ arrived }) => {
    refreshLobby(arrived);
    participants.render();
  });
  on(i, "self", () => {
    participants.render();
    recordingLinks.render();
  });
  on(i, "recording", ({ recording, previous, by }) => {
    record.render();
    indicator.render(recording, { announce: true, by, previous });
    if (!recording) status.clear("recording");
  });
  on(i, "spotlight", () => participants.render());
  on(i, "mutedbyhost", ({ source, locked, by }) => {
    status.show("moderation", "warning", mutedText(source, locked, by || t("common.a_host")), { dismissible: true });
  });
  for (const type of ["participants", "participantjoined", "participantupdated", "participantleft"]) {
    on(session, type, () => {
      participants.render();
      hands.render();
    });
  }
  on(session, "participants", ({ participants }) => announcer.known(participants)); // a11y
  on(session, "participantjoined", ({ participant }) => {
    if (participant.id !== session.participantId) announcer.joined(participant); // a11y
  });
  on(session, "participantleft", ({ participantId }) => announcer.left(participantId)); // a11y
  on(session, "state", ({ state }) => {
    if (state === "left" || state === "removed" || state === "ended") {
      side.close();
      menu.popover.close();
      reactions.picker.close();
      chat.clearUnread();
      announced.clear();
      refresh();
    }
  });
  refresh();
  events.addEventListener(LANGUAGE_CHANGED, refresh);
  return { side, refresh };
}

/**
 * @param {"microphone" | "camera" | "screen"} source
 * @param {boolean} locked
 * @param {string} by
 */
function mutedText(source, locked, by) {
  if (source === "camera") return t("moderation.camera_off", { by });
  if (source === "screen") return t("moderation.screen_stopped", { by });
  return locked ? t("moderation.muted_locked", { by }) : t("moderation.muted", { by });
}

/**
 * Tell someone a poll opened (the polls panel is closed).
 * @param {StatusArea} status
 * @param {Poll} poll
 * @param {() => void} open
 */
function announcePoll(status, poll, open) {
  status.show("poll", "info", t("polls.new_poll", { question: poll.question }), {
    actions: [{ label: t("polls.vote"), testid: "open-poll-button", run: () => open() }],
    dismissible: true,
    timeoutMs: 20000,
  });
}

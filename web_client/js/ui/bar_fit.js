// Keeps the control bar on one line whatever the language: German labels
// ("Stummschaltung aufheben", "Bildschirm teilen") are much wider than
// English ones, and a bar that does not fit pushed its buttons over the
// room's name. When the bar overflows, labels of two words go on two lines
// (class "wrap"); if it still overflows, the side-panel buttons drop their
// labels ("compact"), and then every button does ("compact-all"). Their
// icons, aria-labels and titles stay.

import { LANGUAGE_CHANGED, events } from "../i18n.js";

/** What is tried, in order, until the bar fits: labels on two lines, then without panel labels, then icons only. */
const STEPS = ["wrap", "compact", "compact-all"];

/**
 * Watch `bar` (the control bar) and fit it as its width or its labels change.
 * @param {HTMLElement} bar
 * @param {HTMLElement} info the room name and count at its start, which must stay readable
 */
export function fitControlBar(bar, info) {
  const overflows = () => bar.scrollWidth > bar.clientWidth + 1 || info.scrollWidth > info.clientWidth + 1;
  let scheduled = false;
  const fit = () => {
    scheduled = false;
    bar.classList.remove(...STEPS);
    for (const step of STEPS) {
      if (!overflows()) return;
      bar.classList.add(step);
    }
  };
  // Once per frame at most: a label change and a resize often come together.
  const later = () => {
    if (scheduled) return;
    scheduled = true;
    requestAnimationFrame(fit);
  };
  new ResizeObserver(later).observe(bar);
  // Labels change with the state (Mute / Unmute) and buttons come and go.
  new MutationObserver(later).observe(bar, { childList: true, subtree: true, characterData: true, attributeFilter: ["hidden"] });
  events.addEventListener(LANGUAGE_CHANGED, later);
  later();
}

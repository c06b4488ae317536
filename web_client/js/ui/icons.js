// Inline SVG icons (24x24, stroke = currentColor). Our own drawings, no icon font.

const svg = (/** @type {string} */ body) =>
  `<svg class="icon" viewBox="0 0 24 24" width="24" height="24" fill="none" stroke="currentColor" ` +
  `stroke-width="2" stroke-linecap="round" stroke-linejoin="round" aria-hidden="true">${body}</svg>`;

export const MIC = svg(
  '<rect x="9" y="3" width="6" height="11" rx="3"/><path d="M5 11a7 7 0 0 0 14 0"/><path d="M12 18v3"/>',
);
export const MIC_OFF = svg(
  '<path d="M15 10V6a3 3 0 0 0-5.7-1.3"/><path d="M9 9v2a3 3 0 0 0 4.9 2.3"/>' +
    '<path d="M5 11a7 7 0 0 0 11.5 5.4"/><path d="M19 11a7 7 0 0 1-.6 2.8"/><path d="M12 18v3"/><path d="M3 3l18 18"/>',
);
export const CAMERA = svg('<rect x="2" y="6" width="14" height="12" rx="2"/><path d="M16 10l6-3v10l-6-3z"/>');
export const CAMERA_OFF = svg(
  '<path d="M16 16v0a2 2 0 0 1-2 2H4a2 2 0 0 1-2-2V8a2 2 0 0 1 2-2h2"/><path d="M10 6h4a2 2 0 0 1 2 2v2l6-3v10"/>' +
    '<path d="M3 3l18 18"/>',
);
export const SCREEN = svg('<rect x="2" y="4" width="20" height="13" rx="2"/><path d="M8 21h8"/><path d="M12 17v4"/>');
export const SCREEN_STOP = svg(
  '<rect x="2" y="4" width="20" height="13" rx="2"/><path d="M8 21h8"/><path d="M12 17v4"/><path d="M9 8l6 5M15 8l-6 5"/>',
);
export const LEAVE = svg(
  '<path d="M3 15.5c5-4.6 13-4.6 18 0l-2.2 2.3-3.3-1.4v-2.5a11 11 0 0 0-7 0v2.5l-3.3 1.4z"/>',
);
export const HAND = svg(
  '<path d="M8 13V5.5a1.5 1.5 0 0 1 3 0V11"/><path d="M11 10V4.5a1.5 1.5 0 0 1 3 0V11"/>' +
    '<path d="M14 10.5V6a1.5 1.5 0 0 1 3 0v7"/><path d="M8 12.5V9a1.5 1.5 0 0 0-3 0v5a8 8 0 0 0 8 8h0a4 4 0 0 0 4-4v-5"/>',
);
export const SMILE = svg(
  '<circle cx="12" cy="12" r="9"/><path d="M8.5 14.5a4.5 4.5 0 0 0 7 0"/><path d="M9 9.5h.01M15 9.5h.01"/>',
);
export const CHAT = svg('<path d="M4 5h16v11H9l-5 4z"/>');
export const POLL = svg('<path d="M5 20V11"/><path d="M12 20V4"/><path d="M19 20v-6"/>');
export const PEOPLE = svg(
  '<circle cx="9" cy="8" r="3.5"/><path d="M2.5 20a6.5 6.5 0 0 1 13 0"/><path d="M16 4.6a3.5 3.5 0 0 1 0 6.8"/>' +
    '<path d="M18 14.2a6.5 6.5 0 0 1 3.5 5.8"/>',
);
export const HANDS_LIST = svg('<path d="M9 6h11M9 12h11M9 18h11"/><path d="M4 6h.01M4 12h.01M4 18h.01"/>');
export const MORE = svg('<path d="M5 12h.01M12 12h.01M19 12h.01"/>');
/** The control bar's "More" menu (bar_fit.js): three dots one above the other. */
export const MENU = svg('<path stroke-width="3" d="M12 5h.01M12 12h.01M12 19h.01"/>');
export const LOCK = svg('<rect x="5" y="11" width="14" height="10" rx="2"/><path d="M8 11V7a4 4 0 0 1 8 0v4"/>');
export const CLOSE = svg('<path d="M6 6l12 12M18 6L6 18"/>');
export const PIN = svg('<path d="M9 4h6l-1 5 3 3v2H7v-2l3-3z"/><path d="M12 14v7"/>');
export const ROOM = svg('<path d="M4 21V5a1 1 0 0 1 1-1h9a1 1 0 0 1 1 1v16"/><path d="M15 9h4a1 1 0 0 1 1 1v11"/><path d="M3 21h18"/><path d="M8 8h3M8 12h3M8 16h3"/>');
export const SPOTLIGHT = svg('<path d="M12 3l2.6 5.5 6 .8-4.4 4.1 1.1 6L12 16.5 6.7 19.4l1.1-6L3.4 9.3l6-.8z"/>');
export const SPEAKER = svg('<path d="M4 9h4l5-4v14l-5-4H4z"/><path d="M16.5 8.5a5 5 0 0 1 0 7"/><path d="M19 6a8.5 8.5 0 0 1 0 12"/>');
export const SPEAKER_OFF = svg('<path d="M4 9h4l5-4v14l-5-4H4z"/><path d="M17 9l5 6M22 9l-5 6"/>');
export const PREV = svg('<path d="M15 5l-7 7 7 7"/>');
export const CAPTIONS = svg('<rect x="3" y="5" width="18" height="14" rx="2"/><path d="M10.5 10.5a2 2 0 1 0 0 3M17 10.5a2 2 0 1 0 0 3"/>');
export const NEXT = svg('<path d="M9 5l7 7-7 7"/>');
export const KEYBOARD = svg('<rect x="2" y="6" width="20" height="12" rx="2"/><path d="M6 10h.01M10 10h.01M14 10h.01M18 10h.01M7 14h10"/>');
/** Device settings: sliders. */
export const SLIDERS = svg('<path d="M4 7h9M17 7h3M4 17h3M11 17h9"/><circle cx="15" cy="7" r="2"/><circle cx="9" cy="17" r="2"/>');

// Searching a recording's transcript (admin page): which lines match a query
// and where, so the view can hide the others and mark the matches. DOM-free.

/**
 * One line of `GET /api/v1/recordings/{id}/transcript` (docs/rest-api.md).
 * @typedef {object} TranscriptSegment
 * @property {string | null} speaker_id
 * @property {string | null} speaker_name
 * @property {number} start seconds on the recording's clock
 * @property {number} end
 * @property {string} text
 * @property {number | null} confidence
 */

/** What a line without a known speaker is shown as (as in transcript.vtt). */
export const UNKNOWN_SPEAKER = "Unknown speaker";

/**
 * @typedef {object} LineMatch
 * @property {number} index the segment's position in the transcript
 * @property {TranscriptSegment} segment
 * @property {string} speaker the name shown
 * @property {[number, number][]} inSpeaker [start, end) of each match in `speaker`
 * @property {[number, number][]} inText [start, end) of each match in the text
 */

/**
 * The query as it is compared: trimmed, runs of spaces as one, lower case.
 * @param {string} query
 */
export function normalizeQuery(query) {
  return query.trim().replace(/\s+/gu, " ").toLocaleLowerCase();
}

/**
 * Every [start, end) where `needle` (already normalized) occurs in `text`,
 * without overlaps. Lower-casing keeps the length of the text it compares
 * for the scripts names and speech come in here; where it would not, the
 * positions are still within the text.
 * @param {string} text
 * @param {string} needle
 * @returns {[number, number][]}
 */
export function findAll(text, needle) {
  /** @type {[number, number][]} */
  const found = [];
  if (!needle) return found;
  const haystack = text.toLocaleLowerCase();
  if (haystack.length !== text.length) return haystack.includes(needle) ? [[0, text.length]] : found;
  let at = haystack.indexOf(needle);
  while (at !== -1) {
    found.push([at, at + needle.length]);
    at = haystack.indexOf(needle, at + needle.length);
  }
  return found;
}

/**
 * The lines of `segments` that match `query` (in the speaker's name or in
 * what was said), in transcript order; every line when the query is empty.
 * @param {TranscriptSegment[]} segments
 * @param {string} query
 * @returns {LineMatch[]}
 */
export function searchTranscript(segments, query) {
  const needle = normalizeQuery(query);
  /** @type {LineMatch[]} */
  const lines = [];
  segments.forEach((segment, index) => {
    const speaker = (segment.speaker_name ?? "").trim() || UNKNOWN_SPEAKER;
    const text = String(segment.text ?? "");
    const inSpeaker = findAll(speaker, needle);
    const inText = findAll(text, needle);
    if (!needle || inSpeaker.length || inText.length) lines.push({ index, segment, speaker, inSpeaker, inText });
  });
  return lines;
}

/**
 * A time on the recording's clock as "0:04" or "1:02:03".
 * @param {number} seconds
 */
export function clockText(seconds) {
  const total = Math.max(0, Math.floor(Number(seconds) || 0));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = String(total % 60).padStart(2, "0");
  return h > 0 ? `${h}:${String(m).padStart(2, "0")}:${s}` : `${m}:${s}`;
}

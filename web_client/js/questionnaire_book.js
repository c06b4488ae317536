// The meeting's questionnaires as this person sees them (docs/protocol.md,
// "Questionnaires"). DOM-free: MeetingInteraction owns one, hands it the
// Meeting object's `questionnaires` and the server's questionnaire events; the
// UI listens to its `questionnaires` event and calls its methods.
//
// Anonymous questionnaires: the server gives the answering client an answer
// handle, the only way to change that answer later. It is kept in this tab's
// sessionStorage (per meeting and questionnaire), so a reload of the tab can
// still edit, and it is never shown nor sent anywhere else.

/**
 * @typedef {{id: string, kind: "single" | "multiple" | "rating" | "text", prompt: string,
 *   options?: {id: string, text: string}[], max_length?: number}} Question
 * @typedef {{question_id: string, kind: string, prompt: string, answered: number,
 *   options?: {id: string, text: string, votes: number, percent: number}[],
 *   mean?: number | null, distribution?: {value: number, count: number, percent: number}[],
 *   answers?: {text: string, name?: string, participant_id?: string}[]}} QuestionResults
 * @typedef {{questionnaire_id: string, title: string, anonymous: boolean,
 *   state: "draft" | "open" | "closed", results_shared: boolean, questions: Question[],
 *   answered?: boolean, my_answers?: Record<string, unknown> | null,
 *   results: {respondents: number, questions: QuestionResults[]} | null}} Questionnaire
 * @typedef {{kind: string, prompt: string, options?: string[], max_length?: number}} QuestionSpec
 * @typedef {(event: string, payload: object) => Promise<Record<string, any>>} Send
 */

const HANDLE_PREFIX = "questionnaire-handle";

export class QuestionnaireBook extends EventTarget {
  /** @param {Send} send sends one client -> server message */
  constructor(send) {
    super();
    this._send = send;
    /** @type {Map<string, Questionnaire>} in creation order */
    this._items = new Map();
    /** @type {string | null} the meeting the answer handles belong to */
    this._meetingId = null;
    /** @type {Map<string, Record<string, unknown>>} what this tab last sent, by id */
    this._sent = new Map();
  }

  /** @returns {Questionnaire[]} */
  get items() {
    return [...this._items.values()];
  }

  /** Open questionnaires this person has not answered yet. */
  waiting() {
    return this.items.filter((item) => item.state === "open" && !item.answered);
  }

  /**
   * The Meeting object's list (join, resume, role change); none after leaving.
   * @param {unknown} list
   * @param {string | null} meetingId
   */
  load(list, meetingId) {
    this._items = new Map();
    if (meetingId !== this._meetingId) this._sent = new Map();
    this._meetingId = meetingId;
    for (const item of Array.isArray(list) ? list : []) {
      if (item?.questionnaire_id) this._items.set(item.questionnaire_id, item);
    }
    this._emit();
  }

  /**
   * A server event; false if it is not a questionnaire event.
   * @param {string} event
   * @param {any} payload
   */
  handle(event, payload) {
    if (event === "questionnaire_changed") {
      if (payload?.questionnaire?.questionnaire_id) this._put(payload.questionnaire);
      return true;
    }
    if (event === "questionnaire_deleted") {
      if (this._items.delete(payload?.questionnaire_id)) this._emit();
      return true;
    }
    return false;
  }

  /** @param {{title: string, anonymous: boolean, questions: QuestionSpec[]}} spec */
  async create(spec) {
    const result = await this._send("questionnaire_create", spec);
    if (result.questionnaire) this._put(result.questionnaire);
    return result;
  }

  /** @param {string} id */
  async delete(id) {
    const result = await this._send("questionnaire_delete", { questionnaire_id: id });
    if (this._items.delete(id)) this._emit();
    return result;
  }

  /** @param {string} id */
  launch(id) {
    return this._send("questionnaire_launch", { questionnaire_id: id });
  }

  /** @param {string} id */
  close(id) {
    return this._send("questionnaire_close", { questionnaire_id: id });
  }

  /** @param {string} id */
  share(id) {
    return this._send("questionnaire_share", { questionnaire_id: id });
  }

  /**
   * Send (or replace) our answers; an anonymous questionnaire's edit carries
   * the answer handle its first answer got.
   * @param {string} id
   * @param {Record<string, unknown>} answers
   */
  async answer(id, answers) {
    const handle = this.handleOf(id);
    const payload = { questionnaire_id: id, answers, ...(handle ? { handle } : {}) };
    const result = await this._send("questionnaire_answer", payload);
    if (typeof result.handle === "string") this._keepHandle(id, result.handle);
    this._sent.set(id, answers);
    if (result.questionnaire) this._put(result.questionnaire);
    return result;
  }

  /**
   * @param {"json" | "csv"} format
   * @param {boolean} [answers] CSV: who answered what (named questionnaires)
   */
  async export(format, answers = false) {
    const result = await this._send("questionnaire_export", { format, answers });
    return {
      filename: String(result.filename ?? `questionnaires.${format}`),
      content_type: String(result.content_type ?? "text/plain"),
      content: String(result.content ?? ""),
    };
  }

  /**
   * What this tab last sent (the server does not say it back for an anonymous
   * questionnaire, so the form shows it from here).
   * @param {string} id
   * @returns {Record<string, unknown> | null}
   */
  lastSent(id) {
    return this._sent.get(id) ?? null;
  }

  /**
   * The answer handle of an anonymous questionnaire we answered in this tab.
   * @param {string} id
   * @returns {string | null}
   */
  handleOf(id) {
    try {
      return sessionStorage.getItem(`${HANDLE_PREFIX}:${this._meetingId}:${id}`);
    } catch {
      return null;
    }
  }

  /**
   * @param {string} id
   * @param {string} handle
   * @private
   */
  _keepHandle(id, handle) {
    try {
      sessionStorage.setItem(`${HANDLE_PREFIX}:${this._meetingId}:${id}`, handle);
    } catch {
      // No storage: the answer stands, only editing it later is lost.
    }
  }

  /**
   * @param {Questionnaire} item
   * @private
   */
  _put(item) {
    // A copy without our own fields (results pushed to hosts) keeps what we knew.
    const known = this._items.get(item.questionnaire_id);
    const merged = { ...item };
    if (!("answered" in item)) merged.answered = known?.answered ?? false;
    if (!("my_answers" in item)) merged.my_answers = known?.my_answers ?? null;
    this._items.set(item.questionnaire_id, merged);
    this._emit();
  }

  /** @private */
  _emit() {
    this.dispatchEvent(new CustomEvent("questionnaires", { detail: {} }));
  }
}

// Performance marks at a join's steps (`conf: <step>` in the page's
// performance timeline): scripts/bench_join.py reads them to show where a
// join's time goes (docs/performance.md, "Joining"). A mark costs a few
// microseconds. DOM-free.

/**
 * Mark that a step of the join was reached now.
 * @param {string} step
 */
export function markStep(step) {
  globalThis.performance?.mark?.(`conf: ${step}`);
}

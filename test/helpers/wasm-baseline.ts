/**
 * V8's flag for compiling WebAssembly with its baseline compiler only, given to test workers
 * (vitest.config.ts, which says why) and the scripts they start (run-script.ts). Its own module:
 * the vitest config imports it, and must not import anything that registers test hooks.
 */
export const WASM_BASELINE_ONLY = '--liftoff-only';

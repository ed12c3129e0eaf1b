/**
 * Names shared by the Node side (edge-runtime.ts) and the bundled worker (worker.ts) of the header
 * envelope; kept apart so the worker bundle does not pull in Miniflare.
 */
export const ENVELOPE_HEADER = "x-containment-dev-envelope";
export const ENVELOPE_BINDING = "CONTAINMENT_DEV_ENVELOPE_TOKEN";

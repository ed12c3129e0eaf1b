/**
 * What the in-process benchmarks (eval, memory) call, bundled by engine-bundle.ts exactly like the
 * shipped middleware. Not imported directly: under tsx every function gets a `__name()` wrapper
 * (esbuild keepNames) that costs ~10% on the hot path and is not in what users deploy.
 */

export { createNextProxy } from "../../src/adapters/next.js";
export { Keyring } from "../../src/core/identity.js";
export { normalizeRequest } from "../../src/core/request.js";
export { evaluate } from "../../src/engine/evaluate.js";
export { createContainment } from "../../src/engine/firewall.js";
export { isBlocked } from "../../src/model/decision.js";
export { forgetParsedPatterns } from "../../src/rules/pattern.js";
export { compileRuleset } from "../../src/rules/ruleset.js";
export { parseDocument } from "../../src/rules/validate.js";
export { memoryStore } from "../../src/stores/memory.js";
export { redisMirror } from "../../src/stores/mirror/redis-mirror.js";

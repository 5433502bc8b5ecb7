// The two WebAssembly modules of the package: the engine (small: loading, validation,
// decisions, explanations, the road), fetched at once and enough for the first decision;
// and the tools module (a superset: lint, test files, request classes, diff, replay,
// suggest), fetched after the first decision. Once the tools have arrived, every engine is
// made by the tools module (`EngineClass()`), so that `diff` and the tools take them.
import init, { Engine, PolicyError, loadTools as loadToolsModule } from "../../pkg/web/index.js";

let engineLoading = null;

/** Fetches and compiles the engine module once (streaming: WebAssembly.instantiateStreaming
 *  on the fetch response; index.html preloads the same URL). */
export function loadEngine() {
  engineLoading ??= init({ module_or_path: new URL("egress_policy_wasm_bg.wasm", import.meta.url) });
  return engineLoading;
}

/** The tools module's exports once loaded (`runTests`, `diff`, `suggest`, its `Engine`), else null. */
export let tools = null;
let toolsLoading = null;

/** Fetches and initialises the tools module once; resolves to its exports. */
export function loadTools() {
  toolsLoading ??= loadEngine()
    .then(() => loadToolsModule({ module_or_path: new URL("egress_policy_wasm_tools_bg.wasm", import.meta.url) }))
    .then((module) => {
      tools = module;
      return module;
    });
  return toolsLoading;
}

/** The `Engine` class to load policies with: the tools module's once it is loaded. */
export const EngineClass = () => tools?.Engine ?? Engine;

export { PolicyError };

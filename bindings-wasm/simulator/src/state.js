// The simulator's state: the workspace (policy files and one test file, each a tab), the
// engine loaded from it, the baseline of "What changed", and the browser autosave.

/** localStorage key of the autosaved workspace. */
export const AUTOSAVE_KEY = "egress-policy-simulator/workspace/v2";

/** The default test file of a workspace that has none (the format of `egress-policy test`). */
export function emptyTestFile(dir = "policies") {
  return [
    "# Policy tests, the format of `egress-policy test`: run them with",
    "#   egress-policy test tests/scenario.yaml",
    "# Add cases with “Save as test case” on the Request tab.",
    "name: scenario",
    "policies:",
    `- ../${dir}`,
    "cases: []",
    "",
  ].join("\n");
}

/** Shared mutable state; views read it, main.js and the actions below change it. */
export const app = {
  /** {files: [{name, text, test?}], active, sample, form, baseline, matrix} */
  ws: null,
  engine: null,
  inventory: null,
  /** Diagnostics (load errors and warnings) and lint findings, each with its `file`. */
  diagnostics: [],
  lints: [],
  /** {label, files: [{name, text}], engine} — what "What changed" compares with. */
  baseline: null,
  tests: null,
  generation: 0,
  /** Navigation hooks, set by main.js (views call them; no import cycles). */
  actions: {},
};

/** Marks a finished render (the browser test waits for it to settle). */
export function bump() {
  app.generation += 1;
  document.body.dataset.generation = String(app.generation);
}

export const policyFiles = (ws = app.ws) => ws.files.filter((f) => !f.test);
export const testFile = (ws = app.ws) => ws.files.find((f) => f.test) ?? null;
export const fileNamed = (name, ws = app.ws) => ws.files.find((f) => f.name === name) ?? null;

/** The policy texts as `{name: text}` (for Engine.fromFiles and runTests). */
export function filesObject(files) {
  return Object.fromEntries(files.filter((f) => !f.test).map((f) => [f.name, f.text]));
}

/** The directory policy files are added to (that of the first policy file). */
export function policyDir(ws = app.ws) {
  const first = policyFiles(ws)[0]?.name ?? "policies/x.yaml";
  const at = first.lastIndexOf("/");
  return at > 0 ? first.slice(0, at) : "policies";
}

/** A workspace from a sample (its files under `policies/<id>/`, its test file under `tests/`). */
export function sampleWorkspace(sample) {
  const files = sample.files.map((f) => ({ name: `policies/${sample.id}/${f.name}`, text: f.text }));
  files.push({ name: `tests/${sample.id}.yaml`, text: sample.test, test: true });
  return {
    files,
    active: files[0].name,
    sample: sample.id,
    form: null,
    baseline: { label: `the sample “${sample.title}” as shipped`, files: files.filter((f) => !f.test).map(({ name, text }) => ({ name, text })) },
  };
}

/** A workspace from a share link's state (v1: one YAML text; v2: files). */
export function linkWorkspace(state) {
  let files;
  if (state.v === 1) files = [{ name: "policies/policies.yaml", text: state.yaml }];
  else files = state.files.map((f) => ({ name: f.name, text: f.text, test: Boolean(f.test) }));
  if (!files.some((f) => f.test)) files.push({ name: "tests/scenario.yaml", text: emptyTestFile(), test: true });
  const policies = files.filter((f) => !f.test);
  return {
    files,
    active: files.some((f) => f.name === state.active) ? state.active : files[0].name,
    sample: null,
    form: state.form ?? null,
    baseline: { label: "the policies of the shared link", files: policies.map(({ name, text }) => ({ name, text })) },
  };
}

/** Checks the shape of a decoded share state or autosave; throws a plain-words error. */
export function validateState(state) {
  if (!state || typeof state !== "object") throw new Error("it holds no simulator state");
  if (state.v === 1) {
    if (typeof state.yaml !== "string") throw new Error("it holds no policies");
    return state;
  }
  if (state.v !== 2) throw new Error(`unknown link version ${JSON.stringify(state.v)}`);
  if (!Array.isArray(state.files) || !state.files.length) throw new Error("it holds no files");
  for (const f of state.files) {
    if (!f || typeof f.name !== "string" || typeof f.text !== "string" || !f.name) throw new Error("a file in it has no name or text");
  }
  if (new Set(state.files.map((f) => f.name)).size !== state.files.length) throw new Error("two files in it have the same name");
  return state;
}

/** The part of the workspace a share link carries. */
export function shareState(ws, form) {
  return { v: 2, files: ws.files.map((f) => (f.test ? { name: f.name, text: f.text, test: true } : { name: f.name, text: f.text })), active: ws.active, form };
}

// ---------------------------------------------------------------- autosave

/** Saves the workspace (with the baseline's files) in localStorage; false when refused. */
export function autosave(ws, form) {
  try {
    const saved = { ...shareState(ws, form), sample: ws.sample, baseline: app.baseline ? { label: app.baseline.label, files: app.baseline.files } : null, savedAt: Date.now() };
    localStorage.setItem(AUTOSAVE_KEY, JSON.stringify(saved));
    return true;
  } catch {
    return false;
  }
}

/** The autosaved workspace, or null (none, or unreadable). */
export function restoreAutosave() {
  let saved;
  try {
    const text = localStorage.getItem(AUTOSAVE_KEY);
    if (!text) return null;
    saved = validateState(JSON.parse(text));
  } catch {
    return null;
  }
  const ws = linkWorkspace(saved);
  ws.sample = typeof saved.sample === "string" ? saved.sample : null;
  ws.baseline = saved.baseline && Array.isArray(saved.baseline.files) ? saved.baseline : null;
  ws.savedAt = saved.savedAt;
  return ws;
}

// Shared helpers of the node tests: repository paths and policy files read from disk,
// named as `egress-policy --policy` names them (the path relative to the repository root).
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, readdirSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";

export const repoRoot = fileURLToPath(new URL("../../", import.meta.url));

/** `{name: text}` of every *.yaml, *.yml, *.json file under `paths` (recursive, sorted). */
export function readPolicyPaths(paths) {
  const files = {};
  const visit = (path) => {
    if (statSync(path).isDirectory()) {
      for (const entry of readdirSync(path).sort()) visit(join(path, entry));
    } else if (/\.(ya?ml|json)$/.test(path)) {
      files[relative(repoRoot, path)] = readFileSync(path, "utf8");
    }
  };
  for (const path of paths) visit(join(repoRoot, path));
  return files;
}

/** The shared vectors, `tests/vectors/*.json`, sorted by file name. */
export function loadVectors() {
  const dir = join(repoRoot, "tests/vectors");
  return readdirSync(dir)
    .filter((f) => f.endsWith(".json"))
    .sort()
    .map((f) => ({ file: f, ...JSON.parse(readFileSync(join(dir, f), "utf8")) }));
}

/** The files of one vector: `policy_paths` read from disk, then `policy_files` (a text, or
 *  a list of lines joined with `\n` plus a final `\n`), in sorted name order. */
export function vectorFiles(vector) {
  const files = readPolicyPaths(vector.policy_paths ?? []);
  const inline = vector.policy_files ?? {};
  for (const name of Object.keys(inline).sort()) {
    const text = inline[name];
    files[name] = Array.isArray(text) ? text.join("\n") + "\n" : text;
  }
  return files;
}

/** Mismatches of `expected` as a recursive subset of `actual` (tests/vectors/README.md). */
export function subsetMismatches(path, expected, actual, out = []) {
  const isObject = (v) => v !== null && typeof v === "object" && !Array.isArray(v);
  if (Array.isArray(expected) && Array.isArray(actual) && expected.length === actual.length) {
    expected.forEach((e, i) => subsetMismatches(`${path}[${i}]`, e, actual[i], out));
  } else if (isObject(expected) && isObject(actual)) {
    for (const [key, value] of Object.entries(expected)) {
      const sub = `${path}.${key}`;
      if (!(key in actual)) out.push(`${sub}: expected ${JSON.stringify(value)}, missing`);
      else subsetMismatches(sub, value, actual[key], out);
    }
  } else if (JSON.stringify(expected) !== JSON.stringify(actual)) {
    out.push(`${path}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`);
  }
  return out;
}

/** The seed scenarios: directories of examples/policies with a demo.jsonl. */
export function seedScenarios() {
  const dir = join(repoRoot, "examples/policies");
  return readdirSync(dir)
    .sort()
    .filter((d) => {
      try {
        return statSync(join(dir, d, "demo.jsonl")).isFile();
      } catch {
        return false;
      }
    })
    .map((name) => ({
      name,
      files: readPolicyPaths([`examples/policies/${name}`]),
      demo: readFileSync(join(dir, name, "demo.jsonl"), "utf8")
        .split("\n")
        .filter((l) => l.trim())
        .map((l) => JSON.parse(l)),
    }));
}

export const cli = [
  process.env.EGRESS_POLICY_CLI,
  join(repoRoot, "target/release/egress-policy"),
  join(repoRoot, "target/debug/egress-policy"),
].find((c) => c && existsSync(c));
export const needsCli = { skip: cli ? false : "native CLI not built" };

/** The CLI's JSON output (run from the repository root, so file names match the package's). */
export function native(args) {
  let out;
  try {
    out = execFileSync(cli, args, { cwd: repoRoot, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  } catch (err) {
    // Exit status 1 (findings, failed cases, changes) or 2 (a test file that does not load)
    // still prints the JSON report.
    if (typeof err.stdout !== "string" || !err.stdout.trim()) throw err;
    out = err.stdout;
  }
  return JSON.parse(out);
}

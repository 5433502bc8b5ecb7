#!/usr/bin/env node
// Builds the simulator into simulator/dist/: a static, offline site (index.html, app.js,
// app.css, the .wasm), each also precompressed (.br, .gz) for servers that send encoded
// files (simulator/serve.mjs does). The seed scenarios (examples/policies/<name>/*.yaml,
// demo.jsonl and their test file examples/tests/<name>.yaml) are bundled into app.js at
// build time. Needs bindings-wasm/build.sh to have run (pkg/web).
//
//   node bindings-wasm/simulator/build.mjs [--dev]    # --dev: no minification, sourcemap
import { build } from "esbuild";
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { brotliCompressSync, constants, gzipSync } from "node:zlib";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const here = fileURLToPath(new URL(".", import.meta.url));
const root = join(here, "../..");
const pkgWeb = join(here, "../pkg/web");
const dist = join(here, "dist");
const dev = process.argv.includes("--dev");

/** The scenarios offered as samples, in button order. */
const SAMPLES = [
  { id: "istio-waypoint", title: "Istio waypoint", blurb: "Istio ambient: a waypoint enforces an AuthorizationPolicy on httpbin.org (GET /get only)." },
  { id: "gloo", title: "Gloo Mesh", blurb: "Gloo: REGISTRY_ONLY, an ExternalService with TLS origination, an AccessPolicy for productpage." },
  { id: "tsb", title: "Tetrate TSB", blurb: "TSB: an EgressGateway lets workspace w1 reach www.httpbin.org and bookinfo-details reach any host." },
  { id: "istio-waypoint-tls", title: "Istio + TLS origination", blurb: "Istio waypoint with a DestinationRule originating TLS and a VirtualService adding headers." },
  { id: "tsb-deny-all", title: "TSB deny-all", blurb: "TSB: an EgressGateway without authorization denies everything." },
  { id: "istio-egress-gateway", title: "Istio egress gateway", blurb: "Istio's classic egress gateway (Egress Gateways with TLS Origination task): sidecar → VirtualService → istio-egressgateway → authorization → TLS to edition.cnn.com; only namespace default may leave." },
];

function sample({ id, title, blurb }) {
  const dir = join(root, "examples/policies", id);
  const names = readdirSync(dir).filter((f) => /\.ya?ml$/.test(f)).sort();
  // One editor tab per file, as the repository keeps them; the test file runs as is.
  const files = names.map((name) => ({ name, text: readFileSync(join(dir, name), "utf8") }));
  const test = readFileSync(join(root, "examples/tests", `${id}.yaml`), "utf8");
  const demo = readFileSync(join(dir, "demo.jsonl"), "utf8")
    .split("\n")
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l));
  return { id, title, blurb, files, test, demo };
}

const samplesPlugin = {
  name: "samples",
  setup(b) {
    b.onResolve({ filter: /^virtual:samples$/ }, () => ({ path: "samples", namespace: "samples" }));
    b.onLoad({ filter: /.*/, namespace: "samples" }, () => ({
      contents: `export default ${JSON.stringify(SAMPLES.map(sample))};`,
      loader: "js",
    }));
  },
};

if (!existsSync(join(pkgWeb, "egress_policy_wasm_bg.wasm")) || !existsSync(join(pkgWeb, "egress_policy_wasm_tools_bg.wasm"))) {
  console.error("bindings-wasm/pkg/web is missing: run bindings-wasm/build.sh first");
  process.exit(1);
}
rmSync(dist, { recursive: true, force: true });
mkdirSync(dist, { recursive: true });
const result = await build({
  entryPoints: { app: join(here, "src/main.js") },
  bundle: true,
  format: "esm",
  target: "es2022",
  outdir: dist,
  // CodeMirror is its own chunk (editor.js is imported dynamically): the page decides
  // before it arrives.
  splitting: true,
  chunkNames: "[name]-[hash]",
  minify: !dev,
  sourcemap: dev,
  legalComments: "linked",
  metafile: true,
  plugins: [samplesPlugin],
  logLevel: "warning",
});
copyFileSync(join(here, "src/index.html"), join(dist, "index.html"));
copyFileSync(join(here, "src/app.css"), join(dist, "app.css"));
// The engine module (preloaded by index.html) and the tools module (fetched by src/wasm.js
// after the first decision).
for (const wasm of ["egress_policy_wasm_bg.wasm", "egress_policy_wasm_tools_bg.wasm"]) copyFileSync(join(pkgWeb, wasm), join(dist, wasm));
const sizes = {};
for (const name of readdirSync(dist).filter((f) => /\.(html|js|css|wasm)$/.test(f))) {
  const data = readFileSync(join(dist, name));
  const br = brotliCompressSync(data, { params: { [constants.BROTLI_PARAM_QUALITY]: 11, [constants.BROTLI_PARAM_SIZE_HINT]: data.length } });
  writeFileSync(join(dist, `${name}.br`), br);
  writeFileSync(join(dist, `${name}.gz`), gzipSync(data, { level: 9 }));
  sizes[name] = { raw: data.length, br: br.length };
}
console.log(`simulator built into ${dist}: ${JSON.stringify(sizes)}`);

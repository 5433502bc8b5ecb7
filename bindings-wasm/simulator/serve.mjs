#!/usr/bin/env node
// A static file server for simulator/dist on 127.0.0.1: serves the precompressed `.br` or
// `.gz` twin of a file when the browser accepts that encoding (as any static host or CDN
// does), with the right content types (`application/wasm` lets the browser compile the
// engine while it downloads). No other logic: the simulator runs in the page.
//
//   node bindings-wasm/simulator/serve.mjs [PORT] [DIR]     # PORT 0: any free port
// Prints `listening on http://127.0.0.1:PORT/` once ready.
import { createReadStream, existsSync, statSync } from "node:fs";
import { createServer } from "node:http";
import { extname, join, normalize, sep } from "node:path";
import { fileURLToPath } from "node:url";

const here = fileURLToPath(new URL(".", import.meta.url));
const port = Number(process.argv[2] ?? 8080);
const root = normalize(process.argv[3] ?? join(here, "dist"));

const TYPES = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".wasm": "application/wasm",
  ".json": "application/json",
  ".png": "image/png",
  ".txt": "text/plain; charset=utf-8",
};

const server = createServer((req, res) => {
  const url = new URL(req.url ?? "/", "http://localhost");
  let path = decodeURIComponent(url.pathname);
  if (path.endsWith("/")) path += "index.html";
  const file = normalize(join(root, path));
  if (!file.startsWith(root + sep) || !existsSync(file) || !statSync(file).isFile()) {
    res.writeHead(404, { "content-type": "text/plain" });
    res.end("not found\n");
    return;
  }
  const accepts = String(req.headers["accept-encoding"] ?? "");
  let body = file;
  const headers = { "content-type": TYPES[extname(file)] ?? "application/octet-stream", "cache-control": "no-cache", vary: "accept-encoding" };
  if (/\bbr\b/.test(accepts) && existsSync(`${file}.br`)) {
    body = `${file}.br`;
    headers["content-encoding"] = "br";
  } else if (/\bgzip\b/.test(accepts) && existsSync(`${file}.gz`)) {
    body = `${file}.gz`;
    headers["content-encoding"] = "gzip";
  }
  headers["content-length"] = String(statSync(body).size);
  res.writeHead(200, headers);
  if (req.method === "HEAD") res.end();
  else createReadStream(body).pipe(res);
});

server.listen(port, "127.0.0.1", () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}/`);
});
for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => server.close(() => process.exit(0)));

// Share links: the simulator state (policies + request form) in the URL fragment, so no
// server is involved. `#z=` is deflate-raw (CompressionStream) + base64url; `#j=` is plain
// UTF-8 JSON + base64url, used where CompressionStream is missing.

const te = new TextEncoder();
const td = new TextDecoder();

function toBase64Url(bytes) {
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function fromBase64Url(text) {
  const b64 = text.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((text.length + 3) % 4);
  const binary = atob(b64);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

async function pipe(bytes, stream) {
  const out = new Response(new Blob([bytes]).stream().pipeThrough(stream));
  return new Uint8Array(await out.arrayBuffer());
}

/** The fragment (without `#`) encoding `state`. */
export async function encodeState(state) {
  const json = te.encode(JSON.stringify({ v: 1, ...state }));
  if (typeof CompressionStream === "function") {
    return `z=${toBase64Url(await pipe(json, new CompressionStream("deflate-raw")))}`;
  }
  return `j=${toBase64Url(json)}`;
}

/** The state in a fragment (with or without `#`), or null when it holds none. Throws on a
 *  damaged link. */
export async function decodeState(fragment) {
  const text = fragment.replace(/^#/, "");
  let json;
  if (text.startsWith("z=")) {
    if (typeof DecompressionStream !== "function") throw new Error("this browser cannot read compressed links");
    json = await pipe(fromBase64Url(text.slice(2)), new DecompressionStream("deflate-raw"));
  } else if (text.startsWith("j=")) {
    json = fromBase64Url(text.slice(2));
  } else {
    return null;
  }
  const state = JSON.parse(td.decode(json));
  if (state.v !== 1 || typeof state.yaml !== "string") throw new Error("not a simulator link");
  return state;
}

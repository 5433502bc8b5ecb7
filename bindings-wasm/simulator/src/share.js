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

/** The fragment (without `#`) encoding `state` (which carries its version `v`). */
export async function encodeState(state) {
  const json = te.encode(JSON.stringify(state));
  if (typeof CompressionStream === "function") {
    return `z=${toBase64Url(await pipe(json, new CompressionStream("deflate-raw")))}`;
  }
  return `j=${toBase64Url(json)}`;
}

/** Whether a fragment (with or without `#`) looks like a share link. */
export const isShareFragment = (fragment) => /^#?[zj]=/.test(fragment);

/** The state in a fragment (with or without `#`), or null when it holds none. Throws an
 *  Error in plain words on a damaged link (cut short, mistyped, not base64url, not JSON). */
export async function decodeState(fragment) {
  const text = fragment.replace(/^#/, "");
  if (!isShareFragment(text)) return null;
  const body = text.slice(2);
  if (!/^[A-Za-z0-9_-]*$/.test(body)) throw new Error("it contains characters a share link never has (was it edited or cut?)");
  let bytes;
  try {
    bytes = fromBase64Url(body);
  } catch {
    throw new Error("it is not valid base64url (was it cut short?)");
  }
  let json = bytes;
  if (text.startsWith("z=")) {
    if (typeof DecompressionStream !== "function") throw new Error("this browser cannot read compressed links");
    try {
      json = await pipe(bytes, new DecompressionStream("deflate-raw"));
    } catch {
      throw new Error("its compressed data is damaged (was it cut short?)");
    }
  }
  try {
    return JSON.parse(td.decode(json));
  } catch {
    throw new Error("its contents are not readable (was it cut short?)");
  }
}

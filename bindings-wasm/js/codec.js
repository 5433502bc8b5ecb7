// The JavaScript half of engine.check's conversions, imported by the wasm module's glue
// (copied by build.sh to pkg/web/codec.js as is and to pkg/node/codec.js as CommonJS).
//
// decodeValue: builds a value from the compact encoding that src/encode.rs writes (its
// module doc describes the tape), deep-equal to JSON.parse of the value's serde_json text.
//
// packRequest / packRequests: a request object of the common shape as one string that
// src/fast.rs reads without JSON (its module doc describes the format); `undefined` for
// anything else — an unknown member, a value of another type, a class instance, a toJSON
// method, a string with a lone surrogate — which the caller then reads through
// JSON.stringify and serde_json, exactly as before (same decision, same TypeError).

// ---- decoding --------------------------------------------------------------------------

const END = 10;
const scratch = new DataView(new ArrayBuffer(8));
let tape;
let size = 0;
let pos = 0;
let text = "";
let at = 0;
let atoms;

function atom(word) {
  const id = word >>> 4;
  const units = tape[pos++];
  const name = text.slice(at, (at += units));
  atoms[id] = name;
  return name;
}

function known(word) {
  const name = atoms[word >>> 4];
  if (name === undefined) throw new Error("codec: unknown atom");
  return name;
}

function key(word) {
  switch (word & 15) {
    case 6:
      return known(word);
    case 7:
      return atom(word);
    case 5:
      return text.slice(at, (at += word >>> 4));
    default:
      throw new Error("codec: bad key");
  }
}

function value() {
  if (pos >= size) throw new Error("codec: cut short");
  const word = tape[pos++];
  switch (word & 15) {
    case 0:
      return null;
    case 1:
      return false;
    case 2:
      return true;
    case 3:
      return word >>> 4;
    case 4:
      scratch.setUint32(0, tape[pos++], true);
      scratch.setUint32(4, tape[pos++], true);
      return scratch.getFloat64(0, true);
    case 5:
      return text.slice(at, (at += word >>> 4));
    case 6:
      return known(word);
    case 7:
      return atom(word);
    case 8: {
      const array = [];
      // (value() throws at the end of the tape: no endless loop on a cut tape.)
      while (tape[pos] !== END) array.push(value());
      pos++;
      return array;
    }
    case 9: {
      const object = {};
      let word;
      while ((word = tape[pos++]) !== END) {
        const name = key(word);
        const member = value();
        // JSON.parse makes `__proto__` an own member; an assignment would set the prototype.
        if (name === "__proto__") {
          Object.defineProperty(object, name, { value: member, writable: true, enumerable: true, configurable: true });
        } else {
          object[name] = member;
        }
      }
      return object;
    }
    default:
      throw new Error("codec: bad tape");
  }
}

/** The value of `words` (a view of the module's memory), `strings` and the atoms known so
 *  far; `undefined` (the wasm side then takes JSON) for a tape it cannot read. Never throws:
 *  an exception would unwind through the wasm frames. */
export function decodeValue(words, strings, known) {
  tape = words;
  size = words.length;
  pos = 0;
  text = strings;
  at = 0;
  atoms = known;
  try {
    const result = value();
    return pos === words.length && at === strings.length ? result : undefined;
  } catch {
    return undefined;
  } finally {
    tape = undefined;
    text = "";
    atoms = undefined;
  }
}

// ---- packing ---------------------------------------------------------------------------

const ObjectPrototype = Object.prototype;
const getPrototypeOf = Object.getPrototypeOf;
const keys = Object.keys;
const wellFormed = typeof String.prototype.isWellFormed === "function"
  ? (s) => s.isWellFormed()
  : (s) => !/[\uD800-\uDFFF]/.test(s);

/** A plain object (literal, JSON.parse, Object.create(null)) that JSON.stringify writes member by member. */
function plain(v) {
  if (typeof v !== "object" || v === null) return false;
  const proto = getPrototypeOf(v);
  return (proto === ObjectPrototype || proto === null) && v.toJSON === undefined;
}

/** `{name: string}` as `count:` then `len:name` `len:value` per member; `undefined` otherwise. */
function map(tag, object) {
  if (!plain(object)) return undefined;
  let count = 0;
  let body = "";
  for (const name of keys(object)) {
    const v = object[name];
    if (v === undefined) continue;
    if (typeof v !== "string") return undefined;
    count++;
    body += name.length + ":" + name + v.length + ":" + v;
  }
  return tag + count + ":" + body;
}

/** A string member as `tag len:text`, "" for null (absent), `undefined` for another type. */
function str(tag, v) {
  if (typeof v === "string") return tag + v.length + ":" + v;
  return v === null ? "" : undefined;
}

function source(object) {
  if (!plain(object)) return undefined;
  let out = "";
  for (const name of keys(object)) {
    const v = object[name];
    if (v === undefined) continue;
    let part;
    switch (name) {
      case "principal": part = str("a", v); break;
      case "namespace": part = str("n", v); break;
      case "ip": part = str("i", v); break;
      case "remote_ip": part = str("r", v); break;
      case "cluster": part = str("c", v); break;
      case "labels": part = map("L", v); break;
      case "pod_labels": part = map("o", v); break;
      default: return undefined;
    }
    if (part === undefined) return undefined;
    out += part;
  }
  return out;
}

function workload(object) {
  if (object === null) return "";
  if (!plain(object)) return undefined;
  let namespace;
  let labels = "";
  for (const name of keys(object)) {
    const v = object[name];
    if (v === undefined) continue;
    if (name === "namespace" && typeof v === "string") namespace = v;
    else if (name === "labels") labels = map("W", v);
    else return undefined;
    if (labels === undefined) return undefined;
  }
  if (namespace === undefined) return undefined;
  return "w" + namespace.length + ":" + namespace + labels;
}

function empty(object) {
  if (!plain(object)) return undefined;
  for (const name of keys(object)) if (object[name] !== undefined) return undefined;
  return "";
}

const PROTOCOLS = { http: "t0:", tls: "t1:", tcp: "t2:" };

function fields(request) {
  if (!plain(request)) return undefined;
  let out = "";
  for (const name of keys(request)) {
    const v = request[name];
    if (v === undefined) continue;
    let part;
    switch (name) {
      case "host": part = str("h", v); break;
      case "method": part = str("m", v); break;
      case "path": part = str("p", v); break;
      case "url": part = str("u", v); break;
      case "sni": part = str("s", v); break;
      case "destination_ip": part = str("d", v); break;
      case "port":
        if (Number.isInteger(v) && v >= 0 && v <= 65535) part = "P" + v + ":";
        else part = v === null ? "" : undefined;
        break;
      case "protocol":
        part = v === null ? "" : typeof v === "string" && Object.hasOwn(PROTOCOLS, v) ? PROTOCOLS[v] : undefined;
        break;
      case "source": part = source(v); break;
      case "workload": part = workload(v); break;
      case "headers": part = map("H", v); break;
      case "custom": part = empty(v); break;
      case "jwt": part = v === null ? "" : undefined; break;
      default: return undefined;
    }
    if (part === undefined) return undefined;
    out += part;
  }
  return out;
}

/** Strings and numbers write themselves unless a prototype's toJSON says otherwise. */
function primitivesPlain() {
  return String.prototype.toJSON === undefined && Number.prototype.toJSON === undefined;
}

/** One request of the common shape as a string, or `undefined` (also when a getter throws:
 *  the JSON path then meets the same getter and reports it as before). Never throws. */
export function packRequest(request) {
  try {
    if (!primitivesPlain()) return undefined;
    const out = fields(request);
    return out !== undefined && wellFormed(out) ? out : undefined;
  } catch {
    return undefined;
  }
}

/** An array of requests of the common shape, each ended by `.`, or `undefined`. Never throws. */
export function packRequests(requests) {
  try {
    if (!Array.isArray(requests) || getPrototypeOf(requests) !== Array.prototype || requests.toJSON !== undefined) return undefined;
    if (!primitivesPlain()) return undefined;
    let out = "";
    for (let i = 0; i < requests.length; i++) {
      const one = fields(requests[i]);
      if (one === undefined) return undefined;
      out += one + ".";
    }
    return wellFormed(out) ? out : undefined;
  } catch {
    return undefined;
  }
}

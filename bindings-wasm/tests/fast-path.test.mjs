// engine.check without JSON (src/fast.rs reads requests of the common shape that
// js/codec.js packs; src/encode.rs writes decisions that js/codec.js decodes) against the
// JSON path it replaces: the same decision, or the same TypeError, for every request.
//
// The JSON path is reached with the same members on a class instance (`viaJson`): the
// packer takes plain objects only, and JSON.stringify writes both alike. The decision's
// JSON form is `evalLines` (serde_json text, JSON.parse), which the new encoding must equal.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Connection, Engine } from "egress-policy-wasm";
import { decodeValue, packRequest, packRequests } from "../js/codec.js";
import { loadVectors, readPolicyPaths, seedScenarios, vectorFiles } from "./helpers.mjs";

class Members {}
/** The same members (getters as getters) on an object the fast path leaves to JSON.stringify;
 *  anything but an object as it is. */
const viaJson = (request) =>
  request !== null && typeof request === "object" && !Array.isArray(request)
    ? Object.defineProperties(new Members(), Object.getOwnPropertyDescriptors(request))
    : request;

/** `{value}` or `{error, message}`: what a call gives. */
function outcome(call) {
  try {
    return { value: call() };
  } catch (error) {
    return { error: error?.constructor?.name, message: error?.message };
  }
}

/** `check` of `request` by both paths, and against the decision's JSON form. */
function sameAsJson(engine, request, label) {
  const fast = outcome(() => engine.check(request));
  assert.deepStrictEqual(fast, outcome(() => engine.check(viaJson(request))), `${label}: check`);
  assert.deepStrictEqual(outcome(() => engine.checkMany([request])), outcome(() => engine.checkMany([viaJson(request)])), `${label}: checkMany`);
  if ("value" in fast) {
    const [line] = engine.evalLines(JSON.stringify(request));
    assert.deepStrictEqual(fast.value, line.decision, `${label}: the decision's JSON form`);
    assert.deepStrictEqual(engine.checkMany([request, request]), [fast.value, fast.value], `${label}: checkMany`);
  }
  return fast;
}

/** A request's sender fields as a Connection, and the request without them. */
function splitSender(request) {
  const { source = {}, workload, ...own } = request;
  const { principal, namespace, cluster, pod_labels, ...sourceOwn } = source;
  const fields = { source: { principal, namespace, cluster, pod_labels } };
  if (workload !== undefined) fields.workload = workload;
  return { fields, request: Object.keys(sourceOwn).length ? { ...own, source: sourceOwn } : own };
}

test("the shared vectors and the seed demos decide alike by both paths (check, checkMany, checkOn)", () => {
  let packed = 0;
  let total = 0;
  const suites = [
    ...loadVectors().filter((v) => !v.load_error).map((v) => ({ name: v.name, files: vectorFiles(v), requests: v.cases.map((c) => c.request) })),
    ...seedScenarios().map((s) => ({ name: s.name, files: s.files, requests: s.demo.map((d) => d.request) })),
  ];
  assert.ok(suites.length > 40);
  for (const suite of suites) {
    const engine = Engine.fromFiles(suite.files);
    const decisions = suite.requests.map((request, i) => {
      total++;
      if (packRequest(request) !== undefined) packed++;
      return sameAsJson(engine, request, `${suite.name}[${i}]`);
    });
    const many = outcome(() => engine.checkMany(suite.requests));
    if (decisions.every((d) => "value" in d)) {
      assert.deepStrictEqual(many, { value: decisions.map((d) => d.value) }, `${suite.name}: checkMany of all`);
    }
    assert.deepStrictEqual(many, outcome(() => engine.checkMany(suite.requests.map(viaJson))), `${suite.name}: checkMany by JSON`);
    for (const [i, whole] of suite.requests.entries()) {
      if (whole.source !== undefined && (typeof whole.source !== "object" || whole.source === null)) continue;
      const { fields, request } = splitSender(whole);
      const connection = outcome(() => new Connection(fields));
      if (!("value" in connection)) continue;
      const on = outcome(() => engine.checkOn(connection.value, request));
      assert.deepStrictEqual(on, outcome(() => engine.checkOn(connection.value, viaJson(request))), `${suite.name}[${i}]: checkOn`);
      if ("value" in on) assert.deepStrictEqual(on.value, engine.check(whole), `${suite.name}[${i}]: checkOn = check`);
    }
    engine.free();
  }
  // Most requests take the new path (the rest carry a JWT or CUSTOM verdicts).
  assert.ok(packed > total * 0.8, `${packed} of ${total} requests packed`);
});

const BASE = { source: { principal: "cluster.local/ns/bookinfo/sa/bookinfo-productpage" }, method: "GET", url: "http://httpbin.org/get" };
const FILES = readPolicyPaths(["examples/policies/istio-waypoint"]);

/** Requests of odd shapes: [label, request, whether the packer takes it]. */
const ODD = [
  ["undefined members (JSON.stringify drops them)", { ...BASE, host: undefined, port: undefined, source: { ...BASE.source, ip: undefined }, headers: { a: undefined, b: "1" } }, true],
  ["null optional members", { ...BASE, host: null, port: null, protocol: null, workload: null, jwt: null, sni: null, source: { principal: null, namespace: null } }, true],
  ["port -0", { ...BASE, port: -0 }, true],
  ["port 0 and 65535", { ...BASE, port: 65535, destination_ip: "10.0.0.1" }, true],
  ["every member of the common shape", {
    source: { principal: "cluster.local/ns/a/sa/b", namespace: "a", ip: "10.0.0.2", remote_ip: "10.0.0.3", cluster: "c1", labels: { app: "x" }, pod_labels: { app: "y", v: "1" } },
    workload: { namespace: "istio-egress", labels: { "gateway.networking.k8s.io/gateway-name": "egress-waypoint" } },
    protocol: "http", host: "httpbin.org:80", port: 80, method: "POST", path: "/post?x=1", sni: "httpbin.org", destination_ip: "1.2.3.4",
    headers: { "User-Agent": "curl/8", accept: "*/*", "x-empty": "" }, custom: {},
  }, true],
  ["protocols", { ...BASE, url: undefined, host: "httpbin.org", protocol: "tls", port: 443, sni: "httpbin.org" }, true],
  ["tcp", { ...BASE, url: undefined, protocol: "tcp", port: 5432, destination_ip: "10.1.1.1" }, true],
  ["empty labels and custom", { ...BASE, source: { ...BASE.source, labels: {}, pod_labels: {} }, custom: {} }, true],
  ["workload without labels", { ...BASE, workload: { namespace: "istio-egress" } }, true],
  ["headers equal but for case (joined in name order)", { ...BASE, headers: { "x-a": "2", "X-A": "1", "X-a": "3" } }, true],
  ["invalid header names (the first in name order is reported)", { ...BASE, headers: { "z z": "1", "b b": "2", "a\tb": "3" } }, true],
  ["integer-like header names", { ...BASE, headers: { 10: "a", 2: "b", x: "c" } }, true],
  ["non-ASCII and astral text", { ...BASE, path: "/é/😀?q=ü", headers: { "x-é": "ñ😀", "x-b": "ascii" }, source: { principal: "cluster.local/ns/ü/sa/😀" } }, true],
  ["an empty request", {}, true],
  ["Object.create(null)", Object.assign(Object.create(null), BASE), true],
  ["a malformed URL (decided 400)", { ...BASE, url: "ftp://x/" }, true],
  ["a lone high surrogate in host", { ...BASE, url: undefined, host: "a\uD800.com" }, false],
  ["a lone low surrogate in a header value", { ...BASE, headers: { "x-a": "\uDC00x" } }, false],
  ["a lone surrogate in a header name", { ...BASE, headers: { "x-\uD83D": "1" } }, false],
  ["a lone surrogate in a label", { ...BASE, source: { ...BASE.source, pod_labels: { app: "\uD800" } } }, false],
  ["surrogates split over two members", { ...BASE, method: "GET\uD83D", path: "\uDE00/" }, false],
  ["unknown member", { ...BASE, hots: "x" }, false],
  ["unknown source member", { ...BASE, source: { principal: "p", foo: 1 } }, false],
  ["unknown workload member", { ...BASE, workload: { namespace: "n", extra: 1 } }, false],
  ["workload without namespace", { ...BASE, workload: { labels: {} } }, false],
  ["workload namespace null", { ...BASE, workload: { namespace: null } }, false],
  ["workload labels null", { ...BASE, workload: { namespace: "n", labels: null } }, false],
  ["source null", { ...BASE, source: null }, false],
  ["source an array", { ...BASE, source: ["cluster.local/ns/a/sa/b"] }, false],
  ["headers null", { ...BASE, headers: null }, false],
  ["custom null", { ...BASE, custom: null }, false],
  ["custom verdicts", { ...BASE, custom: { ext: true } }, false],
  ["a JWT", { ...BASE, jwt: { principal: "iss/sub" } }, false],
  ["port as a string", { ...BASE, port: "443" }, false],
  ["port 1.5", { ...BASE, port: 1.5 }, false],
  ["port 70000", { ...BASE, port: 70000 }, false],
  ["port -1", { ...BASE, port: -1 }, false],
  ["port NaN (JSON null: absent)", { ...BASE, port: NaN }, false],
  ["port Infinity", { ...BASE, port: Infinity }, false],
  ["port a BigInt (no JSON form)", { ...BASE, port: 443n }, false],
  ["host a number", { ...BASE, host: 5 }, false],
  ["method true", { ...BASE, method: true }, false],
  ["host a String object", { ...BASE, url: undefined, host: new String("httpbin.org") }, false],
  ["protocol in capitals", { ...BASE, protocol: "HTTP" }, false],
  ["protocol udp", { ...BASE, protocol: "udp" }, false],
  ["protocol toString", { ...BASE, protocol: "toString" }, false],
  ["a header of two values", { ...BASE, headers: { "x-a": ["1", "2"] } }, false],
  ["a header value number", { ...BASE, headers: { "x-a": 1 } }, false],
  ["headers a Map", { ...BASE, headers: new Map([["x-a", "1"]]) }, false],
  ["a Date member", { ...BASE, path: new Date(0) }, false],
  ["a function member (JSON.stringify drops it)", { ...BASE, sni: () => "x" }, false],
  ["a symbol member (JSON.stringify drops it)", { ...BASE, sni: Symbol("x") }, false],
  ["a toJSON method", { ...BASE, toJSON: () => ({ host: "other.org" }) }, false],
  ["a toJSON member on source", { ...BASE, source: { principal: "p", toJSON: () => ({ namespace: "n" }) } }, false],
  ["__proto__ as an own member", JSON.parse('{"__proto__": {"host": "x"}, "url": "http://httpbin.org/get"}'), false],
  ["a getter that throws", Object.defineProperty({ ...BASE }, "host", { enumerable: true, get() { throw new Error("no"); } }), false],
  ["a class instance", Object.assign(new (class Req {})(), BASE), false],
  ["an array", [BASE], false],
  ["null", null, false],
  ["a number", 5, false],
  ["a string", "http://httpbin.org/get", false],
  ["undefined", undefined, false],
];

test("odd shapes: the same decision or the same TypeError as the JSON path", () => {
  const engine = Engine.fromFiles(FILES);
  const connection = new Connection({});
  for (const [label, request, packs] of ODD) {
    // (A getter that throws: packRequest says undefined, and the JSON path meets it again.)
    const packed = outcome(() => packRequest(request));
    assert.equal(packed.value !== undefined, packs, `${label}: packed`);
    sameAsJson(engine, request, label);
    assert.deepStrictEqual(
      outcome(() => engine.checkOn(connection, request)),
      outcome(() => engine.checkOn(connection, viaJson(request))),
      `${label}: checkOn`,
    );
  }
  // A batch is read as a whole by one path: one odd element sends it all to JSON.
  const requests = ODD.map(([, r]) => r).filter((r, i) => ODD[i][2]);
  assert.ok(packRequests(requests) !== undefined);
  assert.deepStrictEqual(engine.checkMany(requests), requests.map((r) => engine.check(r)));
  for (const [label, odd, packs] of ODD) {
    if (packs) continue;
    const batch = [BASE, odd, BASE];
    assert.equal(outcome(() => packRequests(batch)).value, undefined, label);
    assert.deepStrictEqual(outcome(() => engine.checkMany(batch)), outcome(() => engine.checkMany(batch.map(viaJson))), `${label}: in a batch`);
  }
  for (const odd of [[BASE, , BASE], [BASE, undefined], [BASE, null], "x", { 0: BASE, length: 1 }]) {
    assert.equal(packRequests(odd), undefined);
    assert.throws(() => engine.checkMany(odd), TypeError);
  }
  const withToJson = Object.assign([BASE], { toJSON: () => [] });
  assert.equal(packRequests(withToJson), undefined);
  assert.deepStrictEqual(engine.checkMany(withToJson), []);
  assert.deepStrictEqual(engine.checkMany([]), []);
  engine.free();
});

test("the sender fields on a connection: the same refusal by both paths", () => {
  const engine = Engine.fromFiles(FILES);
  const connection = new Connection({ source: { principal: BASE.source.principal } });
  const cases = [
    { ...BASE, source: { principal: "p" } },
    { ...BASE, source: { namespace: "n" } },
    { ...BASE, source: { cluster: "c" } },
    { ...BASE, source: { pod_labels: { a: "b" } } },
    { ...BASE, source: { pod_labels: {} } },
    { ...BASE, source: { ip: "10.0.0.1" } },
    { ...BASE, workload: { namespace: "istio-egress" } },
  ];
  for (const request of cases) {
    const fast = outcome(() => engine.checkOn(connection, request));
    assert.deepStrictEqual(fast, outcome(() => engine.checkOn(connection, viaJson(request))), JSON.stringify(request));
  }
  assert.match(outcome(() => engine.checkOn(connection, cases[0])).message, /principal is the connection's/);
  engine.free();
});

test("decodeValue builds what JSON.parse builds", () => {
  const f64 = (x) => {
    const view = new DataView(new ArrayBuffer(8));
    view.setFloat64(0, x, true);
    return [4, view.getUint32(0, true), view.getUint32(4, true)];
  };
  const W = (tag, payload = 0) => tag | (payload << 4);
  const atoms = [];
  // {"status": 403, "big": 2^53 + 2, "neg": -1.5, "z": -0, "s": "é😀", "a": [null, true, false, []], "__proto__": {"x": "y"}}
  const tape = Uint32Array.from([
    W(9),
    W(7, 0), 6, W(3, 403),
    W(7, 1), 3, ...f64(2 ** 53 + 2),
    W(7, 2), 3, ...f64(-1.5),
    W(5, 1), ...f64(-0),
    W(7, 3), 1, W(5, 3),
    W(5, 1), W(8), W(0), W(2), W(1), W(8), W(10), W(10),
    W(5, 9), W(9), W(5, 1), W(5, 1), W(10),
    W(10),
  ]);
  const text = "status" + "big" + "neg" + "z" + "s" + "é😀" + "a" + "__proto__" + "x" + "y";
  const value = decodeValue(tape, text, atoms);
  const expected = JSON.parse('{"status": 403, "big": 9007199254740994, "neg": -1.5, "z": -0.0, "s": "é😀", "a": [null, true, false, []], "__proto__": {"x": "y"}}');
  assert.deepStrictEqual(value, expected);
  assert.equal(Object.getPrototypeOf(value), Object.prototype);
  assert.deepStrictEqual(atoms, ["status", "big", "neg", "s"]);
  // Known atoms are named by id; an unknown one, a bad tag or trailing data gives undefined
  // (Rust then takes JSON).
  assert.deepStrictEqual(decodeValue(Uint32Array.from([W(9), W(6, 0), W(6, 3), W(10)]), "", atoms), { status: "s" });
  for (const [tape, strings] of [[[W(6, 9)], ""], [[W(9), W(6, 9), W(0), W(10)], ""], [[W(0), W(0)], ""], [[W(5, 1)], "ab"], [[W(11)], ""], [[W(9), W(0), W(0), W(10)], ""], [[W(8)], ""]]) {
    assert.equal(decodeValue(Uint32Array.from(tape), strings, atoms), undefined, JSON.stringify(tape));
  }
});

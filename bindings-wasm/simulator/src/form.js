// The request form: reading and writing its fields, and the Request JSON they stand for.
import { $, el, refText } from "./dom.js";
import { app } from "./state.js";

const form = () => $("#request-form");

export function readForm() {
  const f = form().elements;
  return {
    principal: f.principal.value.trim(),
    method: f.method.value,
    url: f.url.value.trim(),
    workload: f.workload.value,
    protocol: f.protocol.value,
    headers: f.headers.value,
  };
}

/** Fills the form. With `keepTouched`, fields the user typed into before the engine was
 *  ready (marked by the inline script of index.html) keep what was typed. */
export function writeForm(values, { keepTouched = false } = {}) {
  const f = form().elements;
  const set = (field, value) => {
    if (keepTouched && field.dataset.touched) return;
    field.value = value;
  };
  set(f.principal, values.principal ?? "");
  set(f.method, values.method ?? "GET");
  set(f.url, values.url ?? "");
  set(f.protocol, values.protocol ?? "http");
  set(f.headers, values.headers ?? "");
  const workload = values.workload ?? "";
  if (workload && ![...f.workload.options].some((o) => o.value === workload)) {
    f.workload.append(el("option", { value: workload }, `workload ${workload}`));
  }
  set(f.workload, workload);
}

/** Form values of a Request JSON (as in demo.jsonl or a test case). */
export function formOf(request) {
  const headers = Object.entries(request.headers ?? {})
    .flatMap(([k, v]) => (Array.isArray(v) ? v.map((x) => `${k}: ${x}`) : [`${k}: ${v}`]))
    .join("\n");
  const url = request.url ?? (request.host ? `http://${request.host}${request.path ?? "/"}` : "");
  return {
    principal: request.source?.principal ?? "",
    method: request.method ?? "GET",
    url,
    workload: request.workload ? JSON.stringify(request.workload) : "",
    protocol: request.protocol ?? "http",
    headers,
  };
}

/** The Request JSON for form values. */
export function requestOf(values) {
  const request = { method: values.method };
  if (values.principal) request.source = { principal: values.principal };
  if (values.url) request.url = values.url;
  if (values.protocol && values.protocol !== "http") request.protocol = values.protocol;
  if (values.workload) request.workload = JSON.parse(values.workload);
  const headers = {};
  for (const line of values.headers.split("\n")) {
    const at = line.indexOf(":");
    if (at <= 0) continue;
    const name = line.slice(0, at).trim();
    const value = line.slice(at + 1).trim();
    if (name in headers) headers[name] = [].concat(headers[name], value);
    else headers[name] = value;
  }
  if (Object.keys(headers).length) request.headers = headers;
  return request;
}

/** Refreshes the identity and host suggestions and the enforcement points of the form. */
export function refreshInventory() {
  const inv = app.inventory;
  $("#identities").replaceChildren(...(inv?.identities ?? []).map((i) => el("option", { value: i.principal })));
  $("#hosts").replaceChildren(...(inv?.hosts ?? []).map((h) => el("option", { value: h.url })));
  const select = form().elements.workload;
  const current = select.value;
  const options = [el("option", { value: "" }, "where the registry routes it")];
  for (const g of inv?.gateways ?? []) options.push(el("option", { value: JSON.stringify(g.workload) }, `${refText(g.id)} (${g.kind})`));
  if (current && !options.some((o) => o.value === current)) options.push(el("option", { value: current }, `workload ${current}`));
  select.replaceChildren(...options);
  select.value = current;
}

// Small DOM and text helpers shared by every view.

export const $ = (sel, root = document) => root.querySelector(sel);

/** `<tag attrs>children</tag>`: `class`, `dataset`, `on<event>` and plain attributes
 *  (`true` = present, `false`/`null`/`undefined` = absent). */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "class") node.className = v;
    else if (k === "dataset") Object.assign(node.dataset, v);
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat(Infinity)) if (c !== null && c !== undefined && c !== false) node.append(c instanceof Node ? c : String(c));
  return node;
}

export function debounce(fn, ms) {
  let timer;
  const wrapped = (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
  wrapped.cancel = () => clearTimeout(timer);
  return wrapped;
}

export const plural = (n, word, words = `${word}s`) => `${n} ${n === 1 ? word : words}`;

/** `Kind ns/name` of a resource reference, `–` for none. */
export const refText = (r) => (r ? `${r.kind} ${r.namespace}/${r.name}` : "–");

export const sameRef = (a, b) => Boolean(a && b && a.kind === b.kind && a.namespace === b.namespace && a.name === b.name);

/** `Kind ns/name rule N` of a decision-like object ({policy, rule}), or "". */
export const decider = (o) => (o.policy ? `${refText(o.policy)}${o.rule !== null && o.rule !== undefined ? ` rule ${o.rule}` : ""}` : "");

/** The last path segment of a file name. */
export const baseName = (name) => name.slice(name.lastIndexOf("/") + 1);

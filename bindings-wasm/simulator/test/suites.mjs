// The checks of the browser test, one group per numbered point of issue 14 (run at every
// viewport), and the editor checks (markers, lint, what changed) run once.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import {
  check, decision, edit, expect, gutterLineOf, layoutProblems, openFile, pickSample, replaceEditorText, selectTab, setRequest, settle,
} from "./harness.mjs";

const require = createRequire(import.meta.url);
const AXE = readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");

const PP = "cluster.local/ns/bookinfo/sa/bookinfo-productpage";
const REPO = new URL("../../../", import.meta.url).pathname;
const RV = "cluster.local/ns/bookinfo/sa/bookinfo-reviews";

const fileText = (page) => page.evaluate(() => window.simulator.text());
const styleOf = (page, sel) => page.$eval(sel, (n) => { const s = getComputedStyle(n); return `${s.backgroundImage}|${s.backgroundColor}|${s.borderStyle}`; });

/** The road of the panel agrees with the engine's hops (or says the engine reports none). */
async function roadMatchesEngine(page, request) {
  const engine = await page.evaluate((r) => window.simulator.check(r), request);
  const road = await page.$eval("#decision", (d) => ({
    present: d.querySelector(".road")?.dataset.hops ?? null,
    absent: Boolean(d.querySelector(".road-missing")),
    items: [...d.querySelectorAll(".road-text li")].map((li) => li.textContent),
    enforced: d.querySelector(".road-note")?.dataset.enforced ?? null,
    caveats: d.querySelectorAll(".caveats li").length,
  }));
  if (Array.isArray(engine.hops)) {
    expect(road.present === String(engine.hops.length), `the road has the engine's ${engine.hops.length} hops: ${JSON.stringify(road)}`);
    engine.hops.forEach((h, i) => expect(road.items[i].includes(h.at) && road.items[i].includes(h.outcome), `hop ${i} shows ${h.at}: ${road.items[i]}`));
    const at = engine.hops.findIndex((h) => h.step === "authorization");
    expect(road.enforced === (at < 0 ? "none" : String(at)), `enforcement point ${at}: ${road.enforced}`);
  } else {
    expect(road.absent, "without hops from the engine the panel says so (no made-up road)");
  }
  expect(road.caveats === (engine.caveats?.length ?? 0), `the caveats listed: ${road.caveats} vs ${engine.caveats?.length ?? 0}`);
  return engine;
}

async function axe(page, where) {
  await page.addScriptTag({ content: AXE });
  const violations = await page.evaluate(async () => {
    const r = await window.axe.run(document, { resultTypes: ["violations"] });
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.slice(0, 3).map((n) => n.target.join(" ")) }));
  });
  const bad = violations.filter((v) => v.impact === "serious" || v.impact === "critical");
  expect(bad.length === 0, `axe (${where}): ${JSON.stringify(bad)}`);
  return violations;
}

export async function pointChecks({ page, context, url, vp, shots }) {
  const shot = (name, full = false) => page.screenshot({ path: join(shots, `${vp.id}-${name}.png`), fullPage: full });

  await check("1. the road is drawn; passthrough looks unlike an enforced allow; a misspelt kind is not a green load", async () => {
    await pickSample(page, "istio-waypoint");
    const allowed = { source: { principal: PP }, method: "GET", url: "http://httpbin.org/get" };
    await setRequest(page, { principal: PP, method: "GET", url: allowed.url });
    let d = await decision(page);
    expect(d.allowed === "true" && d.kind === "allow", `enforced allow: ${JSON.stringify(d)}`);
    await roadMatchesEngine(page, allowed);
    const allowStyle = await styleOf(page, "#decision");
    await shot("allowed");
    // An unregistered host under ALLOW_ANY passes through: not the enforced style.
    await setRequest(page, { url: "http://www.google.com/" });
    d = await decision(page);
    expect(d.reason === "passthrough" && d.kind === "open", `passthrough: ${JSON.stringify(d)}`);
    expect(/NOT ENFORCED/.test(d.text) && !/^✓/.test(d.text), `the headline says it: ${d.text.slice(0, 80)}`);
    expect((await styleOf(page, "#decision")) !== allowStyle, "a passthrough panel is styled unlike an enforced allow");
    await roadMatchesEngine(page, { source: { principal: PP }, method: "GET", url: "http://www.google.com/" });
    await shot("passthrough");
    // `AuthorisationPolicy`: never a green "loaded" that silently drops the policy.
    const name = await openFile(page, "httpbin-authz.yaml");
    const original = await fileText(page);
    const typo = edit(original, "kind: AuthorizationPolicy", "kind: AuthorisationPolicy");
    await replaceEditorText(page, typo.text);
    const level = await page.getAttribute("#load-status", "data-level");
    expect(level !== "ok", `status is not green: ${level} ${await page.textContent("#load-status")}`);
    const problems = await page.$$eval("#problems li", (li) => li.map((x) => ({ file: x.dataset.file, line: Number(x.dataset.line) })));
    expect(problems.some((p) => p.file === name), `a problem in ${name}: ${JSON.stringify(problems)}`);
    expect(await page.$(`#file-tabs [data-file="${name}"] .tab-mark`), "the file's tab is marked");
    await setRequest(page, { method: "POST", url: "http://httpbin.org/post" });
    d = await decision(page);
    expect(d.kind !== "allow", `POST /post is not an enforced allow any more: ${JSON.stringify(d)}`);
    await openFile(page, "httpbin-authz.yaml");
    await replaceEditorText(page, original);
    expect((await page.getAttribute("#load-status", "data-level")) === "ok", "green again");
  });

  await check("1b. the classic egress-gateway sample shows the road through istio-egressgateway", async () => {
    await pickSample(page, "istio-egress-gateway");
    const from = (ns) => `cluster.local/ns/${ns}/sa/curl`;
    const url = "http://edition.cnn.com/politics";
    await setRequest(page, { principal: from("default"), method: "GET", url });
    let d = await decision(page);
    expect(d.allowed === "true" && d.kind === "allow", `default may leave: ${JSON.stringify(d)}`);
    await roadMatchesEngine(page, { source: { principal: from("default") }, method: "GET", url });
    await setRequest(page, { principal: from("other"), method: "GET", url });
    d = await decision(page);
    expect(d.allowed === "false" && d.status === "403", `other is denied at the gateway: ${JSON.stringify(d)}`);
    await roadMatchesEngine(page, { source: { principal: from("other") }, method: "GET", url });
    await shot("egress-gateway");
  });

  await check("2. the request the page decides is the URL as typed (scheme included), as the engine decides it", async () => {
    await pickSample(page, "istio-waypoint");
    for (const [u, protocol] of [["https://httpbin.org/get", "http"], ["http://httpbin.org:443/get", "http"], ["https://httpbin.org/get", "tls"]]) {
      await setRequest(page, { principal: PP, method: "GET", url: u, protocol });
      const request = { source: { principal: PP }, method: "GET", url: u, ...(protocol === "http" ? {} : { protocol }) };
      const engine = await roadMatchesEngine(page, request);
      const d = await decision(page);
      expect(d.status === String(engine.status) && d.reason === engine.reason, `${u} (${protocol}): page ${d.status} ${d.reason}, engine ${engine.status} ${engine.reason}`);
    }
    await setRequest(page, { protocol: "http" });
  });

  await check("3. matrix: request shape from the rules or typed, an “any other host” column, passthrough distinct, keyboard cells", async () => {
    await pickSample(page, "istio-waypoint");
    await selectTab(page, "matrix");
    const shapes = await page.$$eval("#matrix-shape option", (o) => o.map((x) => x.value));
    expect(shapes.includes("GET /get"), `a shape from the rules: ${shapes}`);
    expect((await page.inputValue("#matrix-method")) === "GET" && (await page.inputValue("#matrix-path")) === "/get", "the first shape of the rules is used");
    const cells = () => page.$$eval("#matrix td.cell", (cs) => cs.map((c) => ({ ...c.dataset, text: c.textContent })));
    let all = await cells();
    const pp = all.find((c) => c.principal === PP && c.host === "httpbin.org");
    expect(pp?.kind === "allow", `productpage GET /get allowed by policy: ${JSON.stringify(pp)}`);
    const other = all.filter((c) => c.other === "true");
    expect(other.length > 0, "an “any other host” column");
    expect(await page.$("#matrix th.host.other"), "its header");
    expect(other.every((c) => c.kind === "open" && c.text.startsWith("↷")), `other hosts pass through, shown as such: ${JSON.stringify(other[0])}`);
    expect((await styleOf(page, "#matrix td.cell.v-open")) !== (await styleOf(page, "#matrix td.cell.v-allow")), "passthrough cells look different");
    await shot("matrix");
    // A typed shape: POST /post is denied for everyone at httpbin.org.
    await page.fill("#matrix-method", "POST");
    await page.fill("#matrix-path", "/post");
    await settle(page);
    all = await cells();
    expect(all.filter((c) => c.host === "httpbin.org").every((c) => c.kind === "deny"), `POST /post denied: ${JSON.stringify(all.filter((c) => c.host === "httpbin.org"))}`);
    // Cells are buttons: Enter opens the request.
    await page.focus(`#matrix td.cell[data-principal="${PP}"][data-host="httpbin.org"] button`);
    await page.keyboard.press("Enter");
    await settle(page);
    expect((await page.getAttribute('#result-tabs [data-tab="decide"]', "aria-selected")) === "true", "the Request tab opened");
    expect((await page.inputValue("select[name=method]")) === "POST" && (await page.inputValue("input[name=url]")) === "http://httpbin.org/post", "with the cell's request");
    // Gloo is REGISTRY_ONLY: any other host is not in the registry.
    await pickSample(page, "gloo");
    await selectTab(page, "matrix");
    all = await cells();
    expect(all.filter((c) => c.other === "true").every((c) => c.kind === "unreg"), `gloo other hosts 502: ${JSON.stringify(all.filter((c) => c.other))}`);
  });

  await check("4. explanations: where it was enforced, which policy did not match, the failing field and why", async () => {
    await pickSample(page, "istio-waypoint");
    await setRequest(page, { principal: PP, method: "POST", url: "http://httpbin.org/post" });
    const d = await decision(page);
    expect(d.kind === "deny" && /enforced at\s+Gateway istio-egress\/egress-waypoint/.test(d.text), `enforcement point shown: ${d.text}`);
    expect(/enforced at\s+Gateway istio-egress\/egress-waypoint \(waypoint, port \d+\)/.test(d.text), `the proxy kind: ${d.text}`);
    expect(/deciding policy\s+no ALLOW policy matched \(1 attached\): AuthorizationPolicy istio-egress\/httpbin/.test(d.text), `the ALLOW policy that did not match: ${d.text}`);
    const request = { source: { principal: PP }, method: "POST", url: "http://httpbin.org/post" };
    const x = await page.evaluate((r) => window.simulator.explain(r), request);
    const wanted = x.policies.flatMap((p) => p.rules.map((r) => [r.field ?? r.failed_field ?? "", r.mismatch ?? r.note ?? ""]));
    const shown = await page.$$eval("#explain tr.rule-row", (rs) => rs.map((r) => [r.querySelector(".failed-field").textContent, r.querySelector(".note").childNodes[0]?.textContent ?? ""]));
    expect(JSON.stringify(shown) === JSON.stringify(wanted), `every rule's failing field and note: ${JSON.stringify(shown)} vs ${JSON.stringify(wanted)}`);
    expect(shown.some(([f, why]) => f === "spec.rules[0].to[0].operation.methods" && why === "method POST not in [GET]"), `the methods field in the user's terms: ${JSON.stringify(shown)}`);
    await shot("denied");
    // TSB: the explanation is what the engine gives, for TSB's resources.
    await pickSample(page, "tsb");
    await setRequest(page, { principal: "cluster.local/ns/ns1/sa/app", method: "GET", url: "http://example.com/" });
    const t = await decision(page);
    expect(t.allowed === "false" && /enforced at/.test(t.text), `tsb denial with its enforcement point: ${t.text}`);
    const ruleRows = () => page.$$eval("#explain tr.rule-row", (rs) => rs.map((r) => ({
      field: r.querySelector(".failed-field").textContent,
      why: r.querySelector(".note").childNodes[0]?.textContent ?? "",
      got: r.querySelector(".got")?.textContent ?? "",
      wanted: r.querySelector(".wanted")?.textContent ?? "",
      at: r.querySelector(".field-location")?.textContent ?? "",
    })));
    let rows = await ruleRows();
    expect(rows.some((r) => r.field === "spec.authorization[0].to" && r.why === "host example.com does not match [www.httpbin.org]"
      && r.got === "request: example.com" && r.wanted === "rule wants: www.httpbin.org" && /egress-gateway\.yaml:\d+:\d+$/.test(r.at)),
      `tsb: the authorization entry's field, its line and the values: ${JSON.stringify(rows)}`);
    // Gloo: the AccessPolicy's allowedClients, not Istio's `from[0].source`.
    await pickSample(page, "gloo");
    await setRequest(page, { principal: "cluster.local/ns/bookinfo/sa/bookinfo-reviews", method: "GET", url: "http://httpbin.org/get" });
    const g = await decision(page);
    expect(g.allowed === "false" && /no ALLOW policy matched \(1 attached\): AccessPolicy bookinfo\/httpbin-access/.test(g.text), `gloo denial names the ALLOW policy: ${g.text}`);
    rows = await ruleRows();
    expect(rows.some((r) => r.field === "spec.config.authz.allowedClients[0].serviceAccountSelector.labels"
      && r.got === "request: {account=reviews}" && r.wanted === "rule wants: {account=productpage}" && /:18:\d+$/.test(r.at)),
      `gloo: the allowedClients field, its line and the values: ${JSON.stringify(rows)}`);
    await shot("denied-gloo");
  });

  await check("5. state: tests re-run on edit, failures one click from their explanation, import/export, autosave, baseline, damaged links", async () => {
    await pickSample(page, "istio-waypoint");
    await selectTab(page, "tests");
    let summary = await page.$eval(".tests-summary", (s) => ({ ...s.dataset }));
    expect(summary.state === "passed" && Number(summary.passed) >= 5, `the sample's tests pass: ${JSON.stringify(summary)}`);
    // An edit breaks `GET /get`: the tests re-run, the failure is open with its explanation.
    await openFile(page, "httpbin-authz.yaml");
    const original = await fileText(page);
    await replaceEditorText(page, edit(original, 'methods: ["GET"]', 'methods: ["PUT"]').text);
    summary = await page.$eval(".tests-summary", (s) => ({ ...s.dataset }));
    expect(summary.state === "failed" && Number(summary.failed) >= 1, `failing now: ${JSON.stringify(summary)}`);
    expect((await page.textContent("#tests-count")) === summary.failed, "the tab counts the failures");
    const first = await page.$eval("#tests li.case.failed", (li) => ({ name: li.dataset.name, details: Boolean(li.querySelector(".case-details .explain")), mismatch: li.querySelector("table.mismatches")?.innerText ?? "" }));
    expect(first.details && /allowed/.test(first.mismatch), `the first failure shows its explanation and mismatches: ${JSON.stringify(first)}`);
    await shot("tests-failing", true);
    // Another failure: one click.
    const failures = await page.$$("#tests li.case.failed .case-toggle[aria-expanded=false]");
    if (failures.length) {
      await failures[0].click();
      await settle(page);
      expect((await page.$$("#tests li.case.failed .case-details")).length >= 2, "a second failure expanded with one click");
    }
    // The case's line in the test file.
    await page.click("#tests li.case.failed a.jump");
    await page.waitForTimeout(100);
    expect((await page.evaluate(() => window.simulator.active())).startsWith("tests/"), "the test file is shown");
    await openFile(page, "httpbin-authz.yaml");
    await replaceEditorText(page, original);
    // Save the current request as a case; export; import.
    await setRequest(page, { principal: RV, method: "DELETE", url: "http://httpbin.org/delete" });
    await page.click("#save-case");
    await settle(page);
    const testName = (await page.evaluate(() => window.simulator.files().find((f) => f.test))).name;
    const testText = (await page.evaluate(() => window.simulator.files().find((f) => f.test))).text;
    expect(testText.includes('"method":"DELETE"') && testText.includes('"status":403'), "the case was added with its expected outcome");
    await selectTab(page, "tests");
    expect((await page.$eval(".tests-summary", (s) => s.dataset.state)) === "passed", "and passes");
    const [download] = await Promise.all([page.waitForEvent("download"), page.click("#test-export")]);
    expect(download.suggestedFilename() === testName.split("/").pop(), `exported as ${download.suggestedFilename()}`);
    expect(readFileSync(await download.path(), "utf8") === testText, "the exported file is the test file");
    const imported = "policies: [../policies/istio-waypoint]\ncases:\n- name: imported case\n  request: {method: POST, url: http://httpbin.org/post}\n  expect: {allowed: true}\n";
    await page.setInputFiles("#test-import", { name: "mine.yaml", mimeType: "application/yaml", buffer: Buffer.from(imported) });
    await settle(page);
    expect((await page.evaluate(() => window.simulator.files().find((f) => f.test).name)) === "tests/mine.yaml", "imported as tests/mine.yaml");
    summary = await page.$eval(".tests-summary", (s) => ({ ...s.dataset }));
    expect(summary.failed === "1" && summary.passed === "0", `the imported case runs: ${JSON.stringify(summary)}`);
    // Baseline: an edit changes decisions; "set as baseline" makes it the reference.
    await openFile(page, "httpbin-authz.yaml");
    const marked = edit(original, 'methods: ["GET"]', 'methods: ["GET", "POST"]').text + "\n# autosave marker\n";
    await replaceEditorText(page, marked);
    await selectTab(page, "changes");
    expect(/change decision/.test(await page.textContent(".changes-summary")), "the edit changes decisions");
    await page.click("#changes-set-baseline");
    await settle(page);
    expect(/^No decision changes/.test(await page.textContent(".changes-summary")), "none against the new baseline");
    expect(/your files as of/.test(await page.textContent(".baseline-label")), "the baseline is named");
    // Autosave: a reload keeps the files, the request and the baseline.
    await setRequest(page, { url: "http://httpbin.org/anything/kept" });
    await page.waitForTimeout(600);
    await page.reload();
    await page.waitForSelector("body[data-ready=true]");
    await settle(page);
    const kept = await page.evaluate(() => window.simulator.files().find((f) => f.name.endsWith("httpbin-authz.yaml")).text);
    expect(kept === marked, "the edited file survived the reload");
    expect((await page.inputValue("input[name=url]")) === "http://httpbin.org/anything/kept", "the request survived");
    await selectTab(page, "changes");
    expect(/your files as of/.test(await page.textContent(".baseline-label")), "the baseline survived");
    // A damaged link, fresh page: a clear error, the autosaved work stays.
    await page.goto(`${url}#z=eJzLSM3JyVcozy_KSQEAGgQEXQ!!`);
    await page.waitForSelector("body[data-ready=true]");
    await settle(page);
    let banner = await page.$eval("#banner", (b) => ({ hidden: b.hidden, role: b.getAttribute("role"), text: b.textContent }));
    expect(!banner.hidden && banner.role === "alert" && /damaged/.test(banner.text), `damaged link reported: ${JSON.stringify(banner)}`);
    expect((await page.evaluate(() => window.simulator.files().find((f) => f.name.endsWith("httpbin-authz.yaml")).text)) === marked, "the work was kept");
    await shot("damaged-link");
    // A damaged link on an open page (cut short): same, nothing replaced.
    await page.evaluate(() => { location.hash = "#z=q1YqS8wpTVWyUspLzE1VslJKTc7PLUjMS1WqBQA"; });
    await settle(page);
    banner = await page.$eval("#banner", (b) => ({ hidden: b.hidden, text: b.textContent }));
    expect(!banner.hidden && /damaged/.test(banner.text), `open page: ${JSON.stringify(banner)}`);
    expect((await page.evaluate(() => window.simulator.files().find((f) => f.name.endsWith("httpbin-authz.yaml")).text)) === marked, "still kept");
    // A good link from elsewhere replaces the workspace and offers the previous one back.
    await page.click("#share");
    await settle(page);
    const link = await page.inputValue("#share-url");
    const other = await context.newPage();
    await other.goto(link);
    await other.waitForSelector("body[data-ready=true]");
    await settle(other);
    expect((await other.evaluate(() => window.simulator.files().find((f) => f.name.endsWith("httpbin-authz.yaml")).text)) === marked, "the link carries the files");
    expect((await other.inputValue("input[name=url]")) === "http://httpbin.org/anything/kept", "and the request");
    await other.close();
    // Picking a sample starts at the top of the page.
    await page.evaluate(() => window.scrollTo(0, document.body.scrollHeight));
    await pickSample(page, "gloo");
    expect((await page.evaluate(() => window.scrollY)) === 0, "scrolled to the top");
  });

  await check("6. keyboard and layout: arrow-key tabs, a way out of the editor, buttons everywhere, focus visible, no sideways scroll, axe", async () => {
    await pickSample(page, "istio-waypoint");
    await selectTab(page, "decide");
    // Result tabs: arrows, Home, End (roving tabindex).
    await page.focus('#result-tabs [data-tab="decide"]');
    await page.keyboard.press("ArrowRight");
    expect((await page.evaluate(() => document.activeElement.dataset.tab)) === "tests", "ArrowRight moves to Tests");
    expect((await page.getAttribute('#result-tabs [data-tab="tests"]', "aria-selected")) === "true", "and selects it");
    expect(!(await page.isHidden("#tab-tests")), "its panel shows");
    await page.keyboard.press("End");
    expect((await page.evaluate(() => document.activeElement.dataset.tab)) === "traffic", "End");
    await page.keyboard.press("Home");
    expect((await page.evaluate(() => document.activeElement.dataset.tab)) === "decide", "Home");
    const outline = await page.evaluate(() => getComputedStyle(document.activeElement).outlineStyle);
    expect(outline !== "none", `focus is visible: ${outline}`);
    // File tabs too.
    const firstFile = await page.$eval("#file-tabs [role=tab]", (t) => t.dataset.file);
    await page.focus(`#file-tabs [data-file="${firstFile}"]`);
    await page.keyboard.press("ArrowRight");
    const second = await page.evaluate(() => document.activeElement.dataset.file);
    expect(second && second !== firstFile && (await page.evaluate(() => window.simulator.active())) === second, "ArrowRight opens the next file");
    // The editor: Tab indents; Escape then Tab leaves it, as the hint says.
    expect(/Esc.*then.*Tab/.test(await page.textContent("#editor-hint")), "the hint is shown");
    await page.click(".cm-content");
    const before = await fileText(page);
    await page.keyboard.press("Tab");
    expect((await fileText(page)) !== before, "Tab indents inside the editor");
    await page.keyboard.press("Control+z");
    await page.keyboard.press("Escape");
    await page.keyboard.press("Tab");
    expect(await page.evaluate(() => !document.activeElement.closest(".cm-editor")), "Escape, Tab: focus left the editor");
    // After "Share link" the focus is on the link, and Tab goes on to a control, not into the editor.
    await page.click("#share");
    await settle(page);
    expect((await page.evaluate(() => document.activeElement.id)) === "share-url", "the link is focused");
    await page.keyboard.press("Tab");
    expect(await page.evaluate(() => !document.activeElement.closest(".cm-editor")), "Tab after sharing does not land in the editor");
    // Problems are buttons: a lint trap, then Enter on its problem moves the cursor there.
    await openFile(page, "httpbin-authz.yaml");
    const original = await fileText(page);
    const trap = edit(original, 'hosts: ["httpbin.org"]', 'hosts: ["*httpbin.org"]');
    await replaceEditorText(page, trap.text);
    await page.focus("#problems li.lint button");
    await page.keyboard.press("Enter");
    await page.waitForTimeout(100);
    expect((await page.evaluate(() => window.simulator.cursorLine())) === trap.line, "Enter on a problem jumps to its line");
    // Change rows open their example with the keyboard.
    await selectTab(page, "changes");
    await page.click("#changes-revert");
    await settle(page);
    await openFile(page, "httpbin-authz.yaml");
    await replaceEditorText(page, edit(original, 'methods: ["GET"]', 'methods: ["GET", "PATCH"]').text);
    await selectTab(page, "changes");
    await page.focus("#changes tr.change .open-example");
    await page.keyboard.press("Enter");
    await settle(page);
    expect((await page.inputValue("select[name=method]")) === "PATCH", "a change row opened by keyboard");
    // Layout and accessibility on every tab.
    for (const tab of ["decide", "tests", "matrix", "changes"]) {
      await selectTab(page, tab);
      const problems = await layoutProblems(page);
      expect(problems.length === 0, `${tab}: ${problems.join("; ")}`);
      await axe(page, tab);
    }
    await selectTab(page, "decide");
    if (vp.mobile) {
      const box = await page.$eval("#share", (b) => b.getBoundingClientRect().toJSON());
      expect(box.left >= 0 && box.right <= vp.width, `Share link fully visible: ${JSON.stringify(box)}`);
      const order = await page.evaluate(() => ({ results: document.querySelector("#results").getBoundingClientRect().top, editor: document.querySelector("#editor").getBoundingClientRect().top }));
      expect(order.results < order.editor, `results before the editor: ${JSON.stringify(order)}`);
    }
    await openFile(page, "httpbin-authz.yaml");
    await replaceEditorText(page, original);
  });

  // The picture of this viewport class for the README.
  await pickSample(page, "istio-waypoint");
  await setRequest(page, { principal: PP, method: "POST", url: "http://httpbin.org/post" });
  await page.evaluate(() => { document.activeElement?.blur(); window.scrollTo(0, 0); });
  await shot("readme");
}

/** Editor markers (errors, lint) and a live "What changed", at one viewport. */
export async function editorChecks({ page, shots }) {
  await check("a broken YAML shows an error marker on the right line of the right file", async () => {
    await pickSample(page, "istio-waypoint");
    const name = await openFile(page, "httpbin-authz.yaml");
    const original = await fileText(page);
    const at = original.split("\n").findIndex((l) => l.includes('methods: ["GET"]'));
    await replaceEditorText(page, original.replace('methods: ["GET"]', "methods: [GET"));
    expect((await page.getAttribute("#load-status", "data-level")) === "bad", "status shows errors");
    const problems = await page.$$eval("#problems li.error", (li) => li.map((x) => ({ line: Number(x.dataset.line), file: x.dataset.file })));
    expect(problems.length >= 1 && problems[0].file === name, `a problem in ${name}: ${JSON.stringify(problems)}`);
    const marked = await page.evaluate(() => [...document.querySelectorAll(".cm-lintRange-error")].map((n) => window.simulator.lineOf(n)));
    expect(marked.includes(problems[0].line), `underline on line ${problems[0].line}: ${marked}`);
    expect((await gutterLineOf(page, ".cm-gutter-lint .cm-lint-marker-error")) === problems[0].line, "gutter marker on that line");
    expect(problems[0].line >= at + 1 && problems[0].line <= at + 2, `error near line ${at + 1}`);
    const d = await decision(page);
    expect(d.allowed === undefined && /Fix the policy errors/.test(d.text), "no decision while broken");
    await page.screenshot({ path: join(shots, "broken-yaml.png") });
    await replaceEditorText(page, original);
  });

  await check("lint: a trap gets a warning marker on its line, message and help in a tooltip", async () => {
    await pickSample(page, "istio-waypoint");
    await openFile(page, "httpbin-authz.yaml");
    const original = await fileText(page);
    const trap = edit(original, 'hosts: ["httpbin.org"]', 'hosts: ["*httpbin.org"]');
    await replaceEditorText(page, trap.text);
    const listed = await page.$$eval("#problems li.lint", (li) => li.map((x) => ({ line: Number(x.dataset.line), code: x.dataset.code, text: x.textContent })));
    expect(listed.length === 1 && listed[0].code === "host-suffix-without-dot" && listed[0].line === trap.line, `listed: ${JSON.stringify(listed)}`);
    expect((await gutterLineOf(page, ".cm-gutter-lint .cm-lint-marker-warning")) === trap.line, "warning marker on the line");
    await page.hover(".cm-lint-finding");
    await page.waitForSelector(".cm-tooltip-lint .lint-tip", { timeout: 5000 });
    const tip = await page.textContent(".cm-tooltip-lint");
    expect(tip.includes("host-suffix-without-dot") && tip.includes("help: write `*.httpbin.org`"), tip);
    await page.mouse.move(5, 5);
    await replaceEditorText(page, original);
    expect((await page.$$("#problems li.lint")).length === 0, "gone once fixed");
  });

  await check("what changed: an edit lists the changed request classes, live, against the sample", async () => {
    await pickSample(page, "istio-waypoint");
    await selectTab(page, "changes");
    expect(/^No decision changes/.test(await page.textContent(".changes-summary")), "unedited");
    await openFile(page, "httpbin-authz.yaml");
    const original = await fileText(page);
    await replaceEditorText(page, edit(original, 'methods: ["GET"]', 'methods: ["POST"]').text);
    const rows = await page.$$eval("#changes tr.change", (rs) => rs.map((r) => ({ ...r.dataset })));
    expect(rows.some((r) => r.kind === "newly-denied" && r.method === "GET" && r.path === "/get"), JSON.stringify(rows));
    expect(rows.some((r) => r.kind === "newly-allowed" && r.method === "POST"), JSON.stringify(rows));
    expect((await page.textContent("#changes-count")) === String(rows.length), "badge");
    await page.screenshot({ path: join(shots, "what-changed.png"), fullPage: true });
    await page.click("#changes-revert");
    await settle(page);
    expect(/^No decision changes/.test(await page.textContent(".changes-summary")), "reverted");
  });

  await check("traffic: a dropped access log's impact (replay) and the suggested policies, for each vendor", async () => {
    await pickSample(page, "istio-waypoint");
    await selectTab(page, "traffic");
    const log = readFileSync(join(REPO, "examples/logs/istio-text.log"), "utf8");
    const identities = readFileSync(join(REPO, "examples/logs/identities.txt"), "utf8");
    await page.selectOption("#traffic-format", "istio-text");
    await page.fill("#traffic-identities", identities);
    await page.fill("#traffic-log", log);
    await settle(page);
    const engine = await page.evaluate(([l, i]) => window.simulator.replay(l, { format: "istio-text", identities: i }), [log, identities]);
    const summary = await page.textContent(".traffic-summary");
    expect(summary.startsWith(`${engine.requests} requests: ${engine.allowed} allowed, ${engine.denied} denied`), `${summary} vs ${JSON.stringify(engine).slice(0, 200)}`);
    expect(engine.denied > 0 && engine.malformed === 1 && summary.includes("1 malformed line"), summary);
    const rows = await page.$$eval("#traffic-impact tbody tr", (rs) => rs.length);
    expect(rows === engine.rows.length, `${rows} rows vs ${engine.rows.length}`);
    let yaml = await page.textContent(".traffic-yaml");
    expect(yaml.includes("kind: ServiceEntry") && yaml.includes("REGISTRY_ONLY"), yaml.slice(0, 300));
    for (const [vendor, kind] of [["gloo", "kind: VirtualGateway"], ["tsb", "kind: EgressGateway"]]) {
      await page.selectOption("#traffic-vendor", vendor);
      await settle(page);
      yaml = await page.textContent(".traffic-yaml");
      expect(yaml.includes(kind), `${vendor}: ${yaml.slice(0, 300)}`);
      expect((await page.$$(".traffic-notes li")).length > 0, `${vendor}: what it cannot express is listed`);
    }
    await page.screenshot({ path: join(shots, "traffic.png"), fullPage: true });
    // A bad identities line is an error on the page, not a silent empty table.
    await page.fill("#traffic-identities", "not-an-address x\n");
    await settle(page);
    expect(/identities line 1/.test(await page.textContent("#traffic-impact")), "the bad line is named");
    // The suggestion becomes a policy file of the workspace.
    await page.fill("#traffic-identities", identities);
    await settle(page);
    await page.click("#traffic-use");
    await settle(page);
    expect((await page.evaluate(() => window.simulator.files().map((f) => f.name))).some((n) => n.endsWith("suggested-tsb.yaml")), "added as a file");
  });
}

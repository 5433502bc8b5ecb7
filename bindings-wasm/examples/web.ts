// The browser flavour: initialise once, then the same typed API.
import init, { Engine, PolicyError, loadTools, type Decision, type Lint } from "egress-policy-wasm/web";

export async function decideInBrowser(yaml: string, url: string): Promise<Decision | string> {
  await init();
  try {
    return Engine.fromYaml(yaml, "editor.yaml").check({ method: "GET", url });
  } catch (err) {
    if (err instanceof PolicyError) return err.diagnostics.map((d) => `${d.line}:${d.column} ${d.message}`).join("\n");
    throw err;
  }
}

// The tools module, fetched on demand: its own `Engine`, with the tools.
export async function lintInBrowser(yaml: string): Promise<Lint[]> {
  const tools = await loadTools();
  const findings: Lint[] = tools.Engine.fromYaml(yaml).lint();
  // @ts-expect-error: the engine module has no tools
  Engine.fromYaml(yaml).lint();
  return [...findings, ...tools.lint(yaml)];
}

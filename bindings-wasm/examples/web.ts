// The browser flavour: initialise once, then the same typed API.
import init, { Engine, PolicyError, type Decision } from "egress-policy-wasm/web";

export async function decideInBrowser(yaml: string, url: string): Promise<Decision | string> {
  await init();
  try {
    return Engine.fromYaml(yaml, "editor.yaml").check({ method: "GET", url });
  } catch (err) {
    if (err instanceof PolicyError) return err.diagnostics.map((d) => `${d.line}:${d.column} ${d.message}`).join("\n");
    throw err;
  }
}

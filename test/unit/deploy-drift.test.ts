/**
 * Generated deployment files are never edited by hand: rendering deploy/definition.ts (with the
 * filter built from the current sources, whose digest the WasmPlugin pins) must give the committed
 * files byte for byte.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { builtImage, committedGenerated, compareFiles } from "../../deploy/generated.ts";
import { HEADER, renderAll } from "../../deploy/render.ts";

let expected: Map<string, string>;
let committed: Map<string, string>;
// The unit project's global setup has just built the filter from the current sources.
beforeAll(() => {
  expected = renderAll(builtImage());
  committed = committedGenerated();
});

describe("generated deployment files", () => {
  it("are exactly what deploy/definition.ts renders", () => {
    const problems = compareFiles(expected, committed);
    expect(problems, `${problems.join("\n")}\nrun \`npm run generate:deploy\` (and never edit these files by hand)`).toEqual([]);
  });

  it("each say so in their first line", () => {
    for (const [path, text] of expected) expect(text.split("\n")[0], path).toBe(`# ${HEADER}`);
    expect([...expected.keys()]).toEqual(expect.arrayContaining(["compose.yaml", "istio/wasm-plugin.yaml", "k8s/rendered/prod.yaml", "k8s/overlays/dev/kustomization.yaml"]));
  });

  it("a hand edit, a deleted file and a leftover file are each caught", () => {
    const edited = new Map(committed);
    const plugin = edited.get("istio/wasm-plugin.yaml")!;
    edited.set("istio/wasm-plugin.yaml", plugin.replace("failStrategy: FAIL_CLOSE", "failStrategy: FAIL_OPEN"));
    expect(compareFiles(expected, edited)).toEqual(["istio/wasm-plugin.yaml: differs from what deploy/definition.ts renders"]);

    const oneByte = new Map(committed);
    const rendered = oneByte.get("k8s/rendered/prod.yaml")!;
    oneByte.set("k8s/rendered/prod.yaml", rendered.slice(0, -1) + (rendered.endsWith("\n") ? " " : "\n"));
    expect(compareFiles(expected, oneByte)).toEqual(["k8s/rendered/prod.yaml: differs from what deploy/definition.ts renders"]);

    const missing = new Map(committed);
    missing.delete("compose.yaml");
    missing.set("k8s/overlays/dev/patches/stale.yaml", `# ${HEADER}\n[]\n`);
    expect(compareFiles(expected, missing)).toEqual(["compose.yaml: missing", "k8s/overlays/dev/patches/stale.yaml: generated, but no longer rendered"]);
  });
});

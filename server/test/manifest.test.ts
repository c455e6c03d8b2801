import { mkdtempSync, writeFileSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { allows, ManifestError, parseManifest } from "../src/manifest.ts";
import { loadRegistry, parseRegistry, RegistryError } from "../src/registry.ts";
import { IRIS, manifest } from "./support/fixtures.ts";

const problems = (json: unknown) => {
  try {
    parseManifest(json, "/m/manifest.json");
  } catch (err) {
    expect(err).toBeInstanceOf(ManifestError);
    return (err as ManifestError).problems;
  }
  throw new Error("expected the manifest to be refused");
};
const iris = () => structuredClone(IRIS) as Record<string, any>;

describe("manifest", () => {
  it("accepts the iris manifest", () => {
    const m = manifest();
    expect(m.inputs[0]!.fields).toHaveLength(4);
    expect(allows(m, ["model:read", "model:invoke"])).toBe(true);
    expect(allows(m, ["model:read"])).toBe(false);
  });

  it("names the file and the field", () => {
    const m = iris();
    m.inputs[0].datatype = "FLOAT";
    try {
      parseManifest(m, "/models/iris/manifest.json");
      throw new Error("accepted");
    } catch (err) {
      expect((err as Error).message).toMatch(/^\/models\/iris\/manifest\.json: inputs\[0\]\.datatype: /);
    }
  });

  it.each([
    ["a missing field", (m: any) => delete m.max_batch, "max_batch"],
    ["an unknown field (a typo)", (m: any) => (m.max_batchsize = 3), "(root): Unrecognized key"],
    ["a bad dimension", (m: any) => (m.inputs[0].shape = [-1, 0]), "inputs[0].shape[1]: must be -1"],
    ["fields that do not fit the shape", (m: any) => (m.inputs[0].fields = ["a", "b"]), "inputs[0].fields: 2 field names need a shape of [-1, 2]"],
    ["duplicate fields", (m: any) => (m.inputs[0].fields = ["a", "a", "b", "c"]), 'inputs[0].fields: duplicate field "a"'],
    ["bounds on a string input", (m: any) => Object.assign(m.inputs[0], { datatype: "BYTES", fields: undefined }), "inputs[0].minimum: not allowed for datatype BYTES"],
    ["minimum above maximum", (m: any) => Object.assign(m.inputs[0], { minimum: 5, maximum: 1 }), "inputs[0].minimum: 5 is greater than maximum 1"],
    ["labels that do not fit a float output", (m: any) => (m.outputs[1].labels = ["a", "b"]), "outputs[1].labels:"],
    ["no roles", (m: any) => (m.roles = []), "roles: must name at least one role"],
    ["a bad name", (m: any) => (m.name = "../etc"), "name: must be 1 to 128"],
    ["duplicate outputs", (m: any) => (m.outputs[1].name = "label"), 'outputs[1].name: duplicate output "label"'],
    ["a zero max_batch", (m: any) => (m.max_batch = 0), "max_batch:"],
  ])("refuses %s", (_what, change, expected) => {
    const m = iris();
    change(m);
    expect(problems(JSON.parse(JSON.stringify(m))).join("\n")).toContain(expected);
  });

  it("accepts labels along a float output's last axis", () => {
    const m = iris();
    m.outputs[1].labels = ["setosa", "versicolor", "virginica"];
    expect(parseManifest(m, "x").outputs[1]!.labels).toHaveLength(3);
  });
});

describe("registry", () => {
  it("validates entries", () => {
    expect(parseRegistry([{ manifest: "a.json", endpoint: "http://127.0.0.1:9000" }], "r.json")).toHaveLength(1);
    expect(() => parseRegistry({}, "r.json")).toThrow(RegistryError);
    expect(() => parseRegistry([{ manifest: "a.json", endpoint: "http://127.0.0.1:9000/v2" }], "/x/r.json")).toThrow(
      /^\/x\/r\.json: \[0\]\.endpoint: must be an origin/,
    );
    expect(() => parseRegistry([{ manifest: "a.json", endpoint: "ftp://h" }], "r.json")).toThrow(/\[0\]\.endpoint: must be http/);
    expect(() => parseRegistry([{ manifest: "a.json", endpoint: "http://h:1", timeout_ms: 0 }], "r.json")).toThrow(/\[0\]\.timeout_ms/);
    expect(() => parseRegistry([{ manifest: "a.json", endpoint: "http://h:1", max_concurency: 2 }], "r.json")).toThrow(/Unrecognized key/);
  });

  function tree() {
    const dir = mkdtempSync(join(tmpdir(), "altgate-registry-"));
    mkdirSync(join(dir, "iris"));
    writeFileSync(join(dir, "iris", "manifest.json"), JSON.stringify(IRIS));
    return dir;
  }

  it("loads manifests relative to the registry file", async () => {
    const dir = tree();
    writeFileSync(join(dir, "models.json"), JSON.stringify([{ manifest: "iris/manifest.json", endpoint: "http://127.0.0.1:9001/", max_concurrency: 3 }]));
    const models = await loadRegistry(join(dir, "models.json"));
    expect(models).toHaveLength(1);
    expect(models[0]).toMatchObject({ endpoint: "http://127.0.0.1:9001", upstreamName: "iris-classifier", maxConcurrency: 3 });
    expect(models[0]!.manifestFile).toBe(join(dir, "iris", "manifest.json"));
  });

  it("names the file for every kind of failure", async () => {
    const dir = tree();
    const reg = join(dir, "models.json");
    await expect(loadRegistry(join(dir, "nope.json"))).rejects.toThrow(/nope\.json: cannot be read \(ENOENT\)/);
    writeFileSync(reg, "[{");
    await expect(loadRegistry(reg)).rejects.toThrow(/models\.json: not valid JSON/);
    writeFileSync(reg, JSON.stringify([{ manifest: "missing/manifest.json", endpoint: "http://127.0.0.1:1" }]));
    await expect(loadRegistry(reg)).rejects.toThrow(/missing\/manifest\.json: cannot be read/);
    writeFileSync(join(dir, "iris", "bad.json"), JSON.stringify({ ...IRIS, max_batch: "64" }));
    writeFileSync(reg, JSON.stringify([{ manifest: "iris/bad.json", endpoint: "http://127.0.0.1:1" }]));
    await expect(loadRegistry(reg)).rejects.toThrow(/iris\/bad\.json: max_batch: /);
    writeFileSync(
      reg,
      JSON.stringify([
        { manifest: "iris/manifest.json", endpoint: "http://127.0.0.1:1" },
        { manifest: join(dir, "iris", "manifest.json"), endpoint: "http://127.0.0.1:2" },
      ]),
    );
    await expect(loadRegistry(reg)).rejects.toThrow(/\[1\]\.manifest: model "iris-classifier" is also defined by/);
  });
});

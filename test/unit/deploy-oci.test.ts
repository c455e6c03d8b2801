/**
 * npm run build:wasm-image: the OCI image Istio pulls, checked byte by byte against the Wasm image
 * specification's compat variant, and the WasmPlugin pinned to it.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { environments, images, names, repoRoot } from "../../deploy/definition.ts";
import { builtImage } from "../../deploy/generated.ts";
import { MEDIA_TYPES, WASM_DIGEST_ANNOTATION, WASM_FILE, gzipStored, sha256, tar, writeImage } from "../../deploy/oci.ts";
import { FILTER_WASM } from "../harness/build-filter.ts";
import { find, rendered } from "./deploy-support.ts";

// What npm run build:wasm-image writes to filter-wasm/build/oci, written here from the .wasm the
// unit project's global setup built (building again would race the tests that load it).
const OCI = join(mkdtempSync(join(tmpdir(), "altgate-oci-")), "oci");
const layout = join(OCI, "layout");
afterAll(() => rmSync(join(OCI, ".."), { recursive: true, force: true }));
const blob = (digest: string) => readFileSync(join(layout, "blobs", ...digest.split(":")));
const readJson = (b: Buffer) => JSON.parse(b.toString("utf8")) as Record<string, any>;

/** Regular files of a ustar archive, by name. */
function untar(archive: Buffer): Map<string, Buffer> {
  const files = new Map<string, Buffer>();
  for (let offset = 0; offset + 512 <= archive.length; ) {
    const header = archive.subarray(offset, offset + 512);
    if (header.every((b) => b === 0)) break;
    const text = (from: number, length: number) => header.subarray(from, from + length).toString("ascii").replace(/\0.*$/s, "");
    const size = parseInt(text(124, 12), 8);
    const stored = parseInt(text(148, 8), 8);
    const sum = [...header].reduce((a, b, i) => a + (i >= 148 && i < 156 ? 32 : b), 0);
    expect(sum, `checksum of ${text(0, 100)}`).toBe(stored);
    expect(text(257, 6)).toBe("ustar");
    files.set(text(0, 100), archive.subarray(offset + 512, offset + 512 + size));
    offset += 512 + Math.ceil(size / 512) * 512;
  }
  return files;
}

let wasm: Buffer;
let index: Record<string, any>;
let manifestBytes: Buffer;
let manifest: Record<string, any>;
beforeAll(() => {
  writeImage(builtImage(), OCI);
  wasm = readFileSync(FILTER_WASM);
  index = readJson(readFileSync(join(layout, "index.json")));
  manifestBytes = blob(index.manifests[0].digest);
  manifest = readJson(manifestBytes);
});

describe("the filter's OCI image", () => {
  it("is an OCI image layout with one tagged manifest", () => {
    expect(readJson(readFileSync(join(layout, "oci-layout")))).toEqual({ imageLayoutVersion: "1.0.0" });
    expect(index.mediaType).toBe(MEDIA_TYPES.index);
    expect(index.manifests).toHaveLength(1);
    expect(index.manifests[0].mediaType).toBe("application/vnd.oci.image.manifest.v1+json");
    expect(index.manifests[0].annotations["org.opencontainers.image.ref.name"]).toBe(manifest.annotations["org.opencontainers.image.version"]);
  });

  it("stores every blob under its own sha256 with the size its descriptor gives", () => {
    const descriptors = [index.manifests[0], manifest.config, ...manifest.layers];
    for (const d of descriptors) {
      const b = blob(d.digest);
      expect(`sha256:${sha256(b)}`).toBe(d.digest);
      expect(b.length).toBe(d.size);
    }
    expect(readdirSync(join(layout, "blobs/sha256")).sort()).toEqual(descriptors.map((d) => d.digest.slice(7)).sort());
  });

  it("has the media types of the compat variant Istio reads: OCI manifest and config, one tar+gzip layer", () => {
    expect(manifest.schemaVersion).toBe(2);
    expect(manifest.mediaType).toBe("application/vnd.oci.image.manifest.v1+json");
    expect(manifest.config.mediaType).toBe("application/vnd.oci.image.config.v1+json");
    expect(manifest.layers).toHaveLength(1);
    expect(manifest.layers[0].mediaType).toBe("application/vnd.oci.image.layer.v1.tar+gzip");
    expect(manifest.annotations["module.wasm.image/variant"]).toBe("compat");
  });

  it("carries exactly the built .wasm as plugin.wasm in its layer", () => {
    const tarball = gunzipSync(blob(manifest.layers[0].digest));
    const files = untar(tarball);
    expect([...files.keys()]).toEqual([WASM_FILE]);
    expect(files.get(WASM_FILE)!.equals(wasm)).toBe(true);
    expect(readJson(blob(manifest.config.digest)).rootfs).toEqual({ type: "layers", diff_ids: [`sha256:${sha256(tarball)}`] });
    expect(manifest.annotations[WASM_DIGEST_ANNOTATION]).toBe(sha256(wasm));
  });

  it("is also written as one archive of the same layout", () => {
    const archives = readdirSync(OCI).filter((f) => f.endsWith(".tar"));
    expect(archives).toHaveLength(1);
    const files = untar(readFileSync(join(OCI, archives[0]!)));
    for (const [name, data] of files) expect(data.equals(readFileSync(join(layout, name))), name).toBe(true);
    expect(files.size).toBe(5);
  });

  it.each(environments.map((e) => e.name))("%s: the WasmPlugin pulls this image and pins its digest", (env) => {
    const plugin = find(rendered[env]!, "WasmPlugin", names.wasmPlugin).spec as Record<string, string>;
    const tag = manifest.annotations["org.opencontainers.image.version"];
    expect(plugin.url).toBe(`oci://${images.filter}:${tag}`);
    // Istio (pkg/wasm/cache.go) compares sha256 with the digest of the image it pulled, i.e. the
    // manifest's; for an http(s) url it would be the module's own. The tag names the module.
    expect(plugin.sha256).toBe(sha256(manifestBytes));
    expect(tag).toContain(sha256(wasm).slice(0, 12));
  });
});

describe("the packaging primitives", () => {
  it("gzip with stored blocks round-trips through zlib, across block boundaries and when empty", () => {
    for (const size of [0, 1, 65535, 65536, 200_000]) {
      const data = Buffer.from(Array.from({ length: size }, (_, i) => (i * 31) % 251));
      expect(gunzipSync(gzipStored(data)).equals(data), String(size)).toBe(true);
    }
  });

  it("tar writes what a reader finds, and the same bytes every time", () => {
    const files = [
      { name: "a.txt", data: Buffer.from("hello"), mode: 0o444 },
      { name: "blobs/sha256/" + "f".repeat(64), data: Buffer.alloc(1024, 7), mode: 0o444 },
    ];
    const archive = tar(files);
    expect(archive.length % 512).toBe(0);
    expect(tar(files).equals(archive)).toBe(true);
    const back = untar(archive);
    for (const f of files) expect(back.get(f.name)!.equals(f.data)).toBe(true);
  });

  it("the layout exists only as build output", () => {
    expect(existsSync(join(repoRoot, ".gitignore")) && readFileSync(join(repoRoot, ".gitignore"), "utf8")).toMatch(/^filter-wasm\/build\/$/m);
  });
});

/**
 * The filter as the OCI image Istio pulls, built from the .wasm bytes alone (no Docker).
 *
 * Format: the "compat" variant of the Wasm image specification (solo-io/wasm spec/spec-compat.md),
 * which Istio's fetcher reads (istio/istio pkg/wasm/imagefetcher.go, extractOCIStandardImage): a
 * standard OCI image manifest (application/vnd.oci.image.manifest.v1+json) with a standard image
 * config (application/vnd.oci.image.config.v1+json) and exactly one layer,
 * application/vnd.oci.image.layer.v1.tar+gzip, holding plugin.wasm, plus the manifest annotation
 * module.wasm.image/variant=compat. Istio's other variant with custom media types
 * (application/vnd.module.wasm.content.layer.v1+wasm) must have exactly two layers, and the CNCF
 * Wasm artifact (application/wasm layers) is not read by that fetcher; the compat image also
 * passes through every registry, as its media types are the ordinary ones.
 *
 * Every byte is deterministic (fixed tar header fields, gzip with stored deflate blocks rather
 * than zlib's compressor, whose output may change between zlib builds), so the same .wasm always
 * gives the same manifest digest: the digest a WasmPlugin pins.
 */
import { createHash } from "node:crypto";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { crc32 } from "node:zlib";

export const MEDIA_TYPES = {
  index: "application/vnd.oci.image.index.v1+json",
  manifest: "application/vnd.oci.image.manifest.v1+json",
  config: "application/vnd.oci.image.config.v1+json",
  layer: "application/vnd.oci.image.layer.v1.tar+gzip",
} as const;
export const WASM_FILE = "plugin.wasm";
/** Records the .wasm's own digest, which the manifest digest does not show. */
export const WASM_DIGEST_ANNOTATION = "dev.altgate.wasm.sha256";

export const sha256 = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
}

export interface WasmImage {
  /** The hex manifest digest: what Istio compares a WasmPlugin's sha256 with for an oci:// url. */
  manifestDigest: string;
  wasmDigest: string;
  tag: string;
  manifest: Descriptor;
  /** Every blob by hex digest: layer, config, manifest. */
  blobs: Map<string, Buffer>;
  /** The OCI image layout: relative path → contents. */
  layout: Map<string, Buffer>;
}

/** The tag names the filter's contents, so a new build is a new tag and an old tag never moves. */
export const wasmTag = (version: string, wasmDigest: string) => `${version}-${wasmDigest.slice(0, 12)}`;

export function buildWasmImage(wasm: Buffer, version: string): WasmImage {
  const wasmDigest = sha256(wasm);
  const tag = wasmTag(version, wasmDigest);
  const tarball = tar([{ name: WASM_FILE, data: wasm, mode: 0o444 }]);
  const layer = gzipStored(tarball);
  const config = json({
    architecture: "wasm",
    os: "wasip1",
    rootfs: { type: "layers", diff_ids: [`sha256:${sha256(tarball)}`] },
  });
  const manifest = json({
    schemaVersion: 2,
    mediaType: MEDIA_TYPES.manifest,
    config: descriptor(MEDIA_TYPES.config, config),
    layers: [descriptor(MEDIA_TYPES.layer, layer, { "org.opencontainers.image.title": WASM_FILE })],
    annotations: {
      "module.wasm.image/variant": "compat",
      "org.opencontainers.image.version": tag,
      [WASM_DIGEST_ANNOTATION]: wasmDigest,
    },
  });
  const manifestDescriptor = descriptor(MEDIA_TYPES.manifest, manifest, { "org.opencontainers.image.ref.name": tag });
  const blobs = new Map([layer, config, manifest].map((b) => [sha256(b), b]));
  const layout = new Map<string, Buffer>([
    ["oci-layout", json({ imageLayoutVersion: "1.0.0" })],
    ["index.json", json({ schemaVersion: 2, mediaType: MEDIA_TYPES.index, manifests: [manifestDescriptor] })],
    ...[...blobs].map(([digest, b]): [string, Buffer] => [`blobs/sha256/${digest}`, b]),
  ]);
  return { manifestDigest: sha256(manifest), wasmDigest, tag, manifest: manifestDescriptor, blobs, layout };
}

/** The layout as one tar file, what `skopeo copy oci-archive:…` and `oras cp` take. */
export const layoutArchive = (image: WasmImage) => tar([...image.layout].map(([name, data]) => ({ name, data, mode: 0o444 })));

/** Replaces `dir` with the image's layout folder and its archive, altgate-filter-<tag>.tar. */
export function writeImage(image: WasmImage, dir: string): { layoutDir: string; archive: string } {
  const layoutDir = join(dir, "layout");
  rmSync(dir, { recursive: true, force: true });
  for (const [path, data] of image.layout) {
    mkdirSync(dirname(join(layoutDir, path)), { recursive: true });
    writeFileSync(join(layoutDir, path), data);
  }
  const archive = join(dir, `altgate-filter-${image.tag}.tar`);
  writeFileSync(archive, layoutArchive(image));
  return { layoutDir, archive };
}

const json = (value: unknown) => Buffer.from(JSON.stringify(value));
const descriptor = (mediaType: string, b: Buffer, annotations?: Record<string, string>): Descriptor => ({
  mediaType,
  digest: `sha256:${sha256(b)}`,
  size: b.length,
  ...(annotations ? { annotations } : {}),
});

/** A POSIX ustar archive of regular files, owned by 0:0 with mtime 0. */
export function tar(files: { name: string; data: Buffer; mode: number }[]): Buffer {
  const blocks: Buffer[] = [];
  for (const { name, data, mode } of files) {
    if (Buffer.byteLength(name) > 100) throw new Error(`tar: name longer than 100 bytes: ${name}`);
    const header = Buffer.alloc(512);
    const field = (offset: number, length: number, value: string) => header.write(value, offset, length, "ascii");
    const octal = (offset: number, length: number, n: number) => field(offset, length, n.toString(8).padStart(length - 1, "0") + "\0");
    field(0, 100, name);
    octal(100, 8, mode);
    octal(108, 8, 0);
    octal(116, 8, 0);
    octal(124, 12, data.length);
    octal(136, 12, 0);
    field(148, 8, " ".repeat(8));
    field(156, 1, "0");
    field(257, 6, "ustar\0");
    field(263, 2, "00");
    const sum = header.reduce((a, b) => a + b, 0);
    field(148, 8, sum.toString(8).padStart(6, "0") + "\0 ");
    blocks.push(header, data, Buffer.alloc((512 - (data.length % 512)) % 512));
  }
  blocks.push(Buffer.alloc(1024));
  return Buffer.concat(blocks);
}

/** gzip (RFC 1952) whose deflate stream is stored blocks only (RFC 1951 §3.2.4). */
export function gzipStored(data: Buffer): Buffer {
  const parts: Buffer[] = [Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff])];
  const MAX = 0xffff;
  for (let offset = 0; offset < data.length || offset === 0; offset += MAX) {
    const chunk = data.subarray(offset, offset + MAX);
    const final = offset + MAX >= data.length;
    const head = Buffer.alloc(5);
    head[0] = final ? 1 : 0;
    head.writeUInt16LE(chunk.length, 1);
    head.writeUInt16LE(~chunk.length & 0xffff, 3);
    parts.push(head, chunk);
    if (final) break;
  }
  const trailer = Buffer.alloc(8);
  trailer.writeUInt32LE(crc32(data) >>> 0, 0);
  trailer.writeUInt32LE(data.length >>> 0, 4);
  parts.push(trailer);
  return Buffer.concat(parts);
}

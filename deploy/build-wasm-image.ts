/**
 * npm run build:wasm-image — builds the filter and writes its OCI image (deploy/oci.ts) to
 * filter-wasm/build/oci/: an OCI image layout folder and the same layout as one tar file.
 */
import { join, relative } from "node:path";
import { buildFilter } from "../test/harness/build-filter.ts";
import { images, repoRoot } from "./definition.ts";
import { builtImage } from "./generated.ts";
import { writeImage } from "./oci.ts";

await buildFilter();
const image = builtImage();
const { layoutDir, archive } = writeImage(image, join(repoRoot, "filter-wasm/build/oci"));
process.stdout.write(
  [
    `image ${images.filter}:${image.tag}`,
    `  layout   ${relative(repoRoot, layoutDir)} (tag ${image.tag})`,
    `  archive  ${relative(repoRoot, archive)}`,
    `  manifest sha256:${image.manifestDigest}  (the WasmPlugin's sha256)`,
    `  wasm     sha256:${image.wasmDigest}`,
    "",
  ].join("\n"),
);

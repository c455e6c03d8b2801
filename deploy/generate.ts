/**
 * npm run generate:deploy — builds the filter, renders deploy/definition.ts into istio/, k8s/ and
 * compose.yaml, and removes generated files that are no longer rendered.
 */
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { repoRoot } from "./definition.ts";
import { buildFilter } from "../test/harness/build-filter.ts";
import { builtImage, committedGenerated } from "./generated.ts";
import { renderAll } from "./render.ts";

await buildFilter();
const image = builtImage();
const files = renderAll(image);
for (const path of committedGenerated().keys()) if (!files.has(path)) rmSync(join(repoRoot, path));
for (const [path, text] of files) {
  mkdirSync(dirname(join(repoRoot, path)), { recursive: true });
  writeFileSync(join(repoRoot, path), text);
}
process.stdout.write(`wrote ${files.size} files; filter image ${image.tag}, manifest sha256:${image.manifestDigest}, wasm sha256:${image.wasmDigest}\n`);

import { buildFilter } from "./build-filter.ts";

export default async function setup(): Promise<void> {
  await buildFilter();
}

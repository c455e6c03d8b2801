import type { TestProject } from "vitest/node";
import { startStack, type StackInfo } from "./stack.ts";

declare module "vitest" {
  export interface ProvidedContext {
    stack: StackInfo;
  }
}

/** One real stack for the end-to-end project, torn down after the last file whatever the outcome. */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const stack = await startStack();
  project.provide("stack", stack.info);
  return () => stack.stop();
}

import { spawn } from "node:child_process";
import { join } from "node:path";
import { writeFileSync, readFileSync, existsSync, rmSync, mkdirSync } from "node:fs";
import { runRoot, repoRoot, log } from "./paths.ts";
import { ensureTools, ensureTestTools, MissingPrerequisite } from "./tools.ts";
import { startStack, type Stack, type StackInfo } from "./stack.ts";
import { registered, stopProcess } from "./processes.ts";

const HELP = `altgate development stack

usage: npm start            start Envoy + the altgate filter, Keycloak, PostgreSQL and the server
       npm test             install missing tools, then run every test (unit and end-to-end)
       npm run tools        only install or verify Envoy and Keycloak

Tools are cached in \${ALTGATE_TOOLS_DIR:-~/.cache/altgate/tools}. The start command keeps its
state and logs in .altgate/dev (ALTGATE_RUN_DIR overrides). DATABASE_URL, when set, replaces the
embedded PostgreSQL.`;

export function quickstart(info: StackInfo): string {
  const token =
    `TOKEN=$(curl -s ${info.tokenEndpoint} -d grant_type=password -d client_id=altgate-cli ` +
    `-d username=alice -d password=alice-password ` +
    `| node -p 'JSON.parse(require("fs").readFileSync(0, "utf8")).access_token')`;
  return [
    "",
    `altgate is up. Entry point (Envoy with the altgate filter): ${info.entryUrl}`,
    "",
    "Get a token from the development Keycloak (user alice) and call the API through Envoy:",
    "",
    `  ${token}`,
    `  curl -s -H "Authorization: Bearer $TOKEN" ${info.entryUrl}/v1/whoami`,
    "",
    `Without a token the filter answers 401:  curl -si ${info.entryUrl}/v1/whoami`,
    "",
    `Keycloak:     ${info.keycloakUrl} (admin console: admin / admin-dev-password; realm altgate)`,
    `Envoy admin:  ${info.envoyAdminUrl}`,
    `Server:       ${info.serverUrl} (behind Envoy; direct access for debugging only)`,
    `PostgreSQL:   ${info.databaseUrl}`,
    `Logs:         ${info.logs}`,
    "",
    "Press Ctrl-C to stop everything.",
    "",
  ].join("\n");
}

async function start(): Promise<void> {
  const runDir = process.env.ALTGATE_RUN_DIR ?? join(runRoot, "dev");
  let stack: Stack | undefined;
  let stopping = false;
  // Installed before anything starts, so a Ctrl-C during start-up also shuts down in order.
  const stop = async (sig: string) => {
    if (stopping) return;
    stopping = true;
    log("stack", `${sig}: stopping`);
    if (stack) await stack.stop();
    else for (const m of registered()) await stopProcess(m);
    log("stack", "stopped");
    process.exit(0);
  };
  process.on("SIGINT", () => void stop("SIGINT"));
  process.on("SIGTERM", () => void stop("SIGTERM"));
  // The components are detached, so nothing else keeps this process (and the reaper's watch) alive.
  setInterval(() => undefined, 1 << 30);
  stack = await startStack({ runDir, persistentDatabase: true });
  writeFileSync(join(runDir, "stack.json"), JSON.stringify(stack.info, null, 2));
  process.stdout.write(quickstart(stack.info));
}

/**
 * Runs vitest, then prints one plain summary line ("tests: N passed, N failed, N skipped") that CI
 * reads whatever the runner. No test at all counts as a failure, never as a pass.
 */
async function runVitest(args: string[]): Promise<number> {
  mkdirSync(runRoot, { recursive: true });
  const report = join(runRoot, "vitest-report.json");
  rmSync(report, { force: true });
  const code = await new Promise<number>((resolve) => {
    const child = spawn(
      process.execPath,
      [join(repoRoot, "node_modules/vitest/vitest.mjs"), "run", "--reporter=default", "--reporter=json", `--outputFile.json=${report}`, ...args],
      { stdio: "inherit", cwd: repoRoot },
    );
    const forward = (sig: NodeJS.Signals) => child.kill(sig);
    process.on("SIGINT", forward);
    process.on("SIGTERM", forward);
    child.once("exit", (c, signal) => resolve(c ?? (signal ? 1 : 0)));
  });
  if (!existsSync(report)) {
    process.stdout.write("tests: 0 passed, 1 failed (the test runner wrote no report)\n");
    return code || 1;
  }
  const r = JSON.parse(readFileSync(report, "utf8")) as { numPassedTests: number; numFailedTests: number; numPendingTests: number; numTodoTests: number };
  const skipped = r.numPendingTests + r.numTodoTests;
  process.stdout.write(`tests: ${r.numPassedTests} passed, ${r.numFailedTests} failed, ${skipped} skipped\n`);
  if (r.numPassedTests === 0) return code || 1;
  return code;
}

async function main(): Promise<void> {
  const [command, ...rest] = process.argv.slice(2);
  try {
    switch (command) {
      case "start":
        await ensureTools();
        return await start();
      case "tools": {
        const tools = await ensureTools();
        process.stdout.write(`envoy:    ${tools.envoy}\nkeycloak: ${tools.keycloak}\n`);
        return;
      }
      case "test":
        // Tools first, so a missing prerequisite is reported plainly before any test starts.
        await ensureTools();
        await ensureTestTools();
        process.exitCode = await runVitest(rest);
        return;
      default:
        process.stdout.write(`${HELP}\n`);
        process.exitCode = command === undefined || command === "help" || command === "--help" ? 0 : 2;
    }
  } catch (err) {
    const prefix = err instanceof MissingPrerequisite ? "missing prerequisite" : "failed";
    process.stderr.write(`\naltgate ${command}: ${prefix}: ${(err as Error).message}\n`);
    process.exit(1);
  }
}

void main();

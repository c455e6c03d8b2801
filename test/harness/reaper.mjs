// Watches the harness process and, once it is gone, stops every component it had registered.
// Plain JavaScript so it starts fast and needs no loader.
import { readFileSync } from "node:fs";

const [parentPid, registryFile] = process.argv.slice(2).map((v, i) => (i === 0 ? Number(v) : v));

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return err.code === "EPERM";
  }
}

function kill(entry, sig) {
  try {
    process.kill(entry.group ? -entry.pid : entry.pid, sig);
  } catch {
    // already gone
  }
}

function entries() {
  try {
    return JSON.parse(readFileSync(registryFile, "utf8"));
  } catch {
    return [];
  }
}

const timer = setInterval(() => {
  if (alive(parentPid)) return;
  clearInterval(timer);
  const left = entries();
  for (const e of left) kill(e, e.stopSignal ?? "SIGTERM");
  setTimeout(() => {
    for (const e of left) if (alive(e.pid)) kill(e, "SIGKILL");
    process.exit(0);
  }, 8000);
}, 250);

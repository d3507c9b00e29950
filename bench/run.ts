/**
 * `npm run bench [filter]`: runs every benchmark script under bench/<area>/*.ts in its own process, one after the
 * other (benchmarks must not share a CPU with each other), and passes their tables through. Each script compares
 * against a baseline it measures in the same run and prints a markdown table.
 */
import { spawnSync } from "node:child_process";
import { readdirSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const benchRoot = fileURLToPath(new URL(".", import.meta.url));
const filter = process.argv[2];

function scripts(dir: string): string[] {
  return readdirSync(dir)
    .sort()
    .flatMap((name) => {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) return name === "out" || name === "gpu" ? [] : scripts(path);
      return dir !== benchRoot && name.endsWith(".ts") && !name.endsWith(".d.ts") && !name.startsWith("_")
        ? [path]
        : [];
    });
}

let failed = 0;
for (const script of scripts(benchRoot)) {
  const name = relative(benchRoot, script);
  if (filter && !name.includes(filter)) continue;
  process.stdout.write(`\n## bench/${name}\n\n`);
  const result = spawnSync(process.execPath, ["--expose-gc", "--import", "tsx", script], { stdio: "inherit" });
  if (result.status !== 0) {
    failed += 1;
    process.stdout.write(`bench/${name} exited with ${result.status ?? result.signal}\n`);
  }
}
process.exitCode = failed === 0 ? 0 : 1;

import type { SharedOriginals } from "../tools/store/shared-originals.js";
import type { WorkBudget } from "../tools/store/work-budget.js";

/**
 * An opt-in line on stderr every SQUINT_MCP_MEMORY_LOG_MS milliseconds: the process's memory as the kernel
 * and V8 see it beside what the budgets count. A gap between RSS and "store + work" is memory no budget
 * sees (buffers awaiting GC, allocator arenas); this is how the load bench's RSS was taken apart.
 */
export interface MemorySources {
  originals?: SharedOriginals;
  work?: WorkBudget;
  /** RSS over the idle process that neither counts (uncounted-memory.ts); the store keeps that much free. */
  uncounted?: () => number;
}

const MIB = 1024 * 1024;

export function memoryLine(sources: MemorySources, usage: NodeJS.MemoryUsage = process.memoryUsage()): string {
  const mib = (bytes: number) => `${(bytes / MIB).toFixed(0)}M`;
  const parts = [
    `rss ${mib(usage.rss)}`,
    `heap ${mib(usage.heapUsed)}`,
    `external ${mib(usage.external)}`,
    `arrayBuffers ${mib(usage.arrayBuffers)}`,
  ];
  if (sources.originals) {
    const memory = sources.originals.memory;
    parts.push(`store ${mib(memory.usedBytes)}/${mib(memory.maxBytes)} (${sources.originals.size} originals)`);
  }
  if (sources.work) {
    const stats = sources.work.stats();
    parts.push(
      `work ${mib(stats.runningBytes)}/${mib(stats.maxBytes)} + ${mib(stats.awaitingGcBytes)} awaiting GC (${stats.runningJobs} running, ${stats.runningLargeJobs} large, ${stats.queuedJobs} queued, ${stats.refused} refused, ${stats.forcedGcs} forced GCs)`,
    );
  }
  if (sources.uncounted) parts.push(`uncounted ${mib(sources.uncounted())}`);
  return `squint mcp: memory ${parts.join(", ")}\n`;
}

/** Writes memoryLine every `intervalMs`; returns the function that stops it. The timer never keeps the process up. */
export function startMemoryLog(intervalMs: number, write: (line: string) => void, sources: MemorySources): () => void {
  const timer = setInterval(() => write(memoryLine(sources)), intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}

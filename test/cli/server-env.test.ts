import { describe, expect, it } from "vitest";
import { SERVER_PROCESS_ENV, serverRelaunchEnv } from "../../src/cli/server-env.js";

/**
 * Issue 10, soak bench: RSS sat ~1.5× above the idle process plus both budgets, mostly memory glibc's malloc
 * kept; MALLOC_ARENA_MAX and MALLOC_MMAP_THRESHOLD_ took it to ~1.2×, and glibc reads them only at start, so
 * `squint mcp` restarts itself once with them.
 */
describe("serverRelaunchEnv", () => {
  it("restarts squint mcp on Linux with the allocator settings, marked so it happens once", () => {
    const env = serverRelaunchEnv(["mcp", "--http"], { PATH: "/bin" }, "linux");
    expect(env).toEqual({ PATH: "/bin", ...SERVER_PROCESS_ENV, SQUINT_MCP_RELAUNCH: "0" });
    expect(env && serverRelaunchEnv(["mcp"], env, "linux")).toBeUndefined();
  });

  it("keeps what the user set and fills in only the rest", () => {
    expect(serverRelaunchEnv(["mcp"], { MALLOC_ARENA_MAX: "4" }, "linux")).toMatchObject({
      MALLOC_ARENA_MAX: "4",
      MALLOC_MMAP_THRESHOLD_: "131072",
    });
    expect(serverRelaunchEnv(["mcp"], { ...SERVER_PROCESS_ENV }, "linux")).toBeUndefined();
  });

  it("leaves other commands, other systems and an opt-out alone", () => {
    expect(serverRelaunchEnv(["ask", "x.png"], {}, "linux")).toBeUndefined();
    expect(serverRelaunchEnv(["mcp"], {}, "darwin")).toBeUndefined();
    expect(serverRelaunchEnv(["mcp"], { SQUINT_MCP_RELAUNCH: "0" }, "linux")).toBeUndefined();
  });
});

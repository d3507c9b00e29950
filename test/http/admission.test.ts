import { describe, expect, it } from "vitest";
import { FairQueue } from "../../src/http/admission.js";

/**
 * The admission queue in front of the model and OCR, without HTTP: places go round-robin over clients, a full
 * queue refuses at once with a Retry-After estimate, and a waiter leaves on abort or after its wait limit.
 */

const queue = (options: Partial<ConstructorParameters<typeof FairQueue>[0]> = {}) =>
  new FairQueue({ name: "the model", concurrency: 1, maxQueued: 10, queueTimeoutMs: 60_000, ...options });

describe("FairQueue", () => {
  it("grants round-robin over clients: one client's burst does not starve another's single request", async () => {
    const lane = queue();
    const order: string[] = [];
    const running = lane.enqueue("a");
    await running.granted;
    const tickets = [
      ["a", 1],
      ["a", 2],
      ["a", 3],
      ["b", 1],
      ["c", 1],
      ["a", 4],
    ].map(([client, n]) => {
      const ticket = lane.enqueue(String(client));
      void ticket.granted.then(() => {
        order.push(`${client}${n}`);
        // Each request runs, then frees its place for the next.
        setTimeout(() => ticket.release(), 0);
      });
      return ticket;
    });
    expect(lane.waiting).toBe(6);
    running.release();
    await Promise.all(tickets.map((ticket) => ticket.granted));
    // Arrival order would be a1 a2 a3 b1 c1 a4; b and c get their turn after a's first.
    expect(order).toEqual(["a1", "b1", "c1", "a2", "a3", "a4"]);
  });

  it("over the queue limit: QUEUE_FULL at once, with a Retry-After estimate", async () => {
    const lane = queue({ maxQueued: 1 });
    await lane.enqueue("a").granted;
    lane.enqueue("b");
    expect(lane.full).toBe(true);
    let caught: unknown;
    try {
      lane.enqueue("c");
    } catch (error) {
      caught = error;
    }
    expect(caught).toMatchObject({ code: "QUEUE_FULL", details: { retryAfterSeconds: 2, waiting: 1, running: 1 } });
  });

  it("a waiter whose client goes away leaves the queue; one that waits too long gets TIMEOUT", async () => {
    const lane = queue({ queueTimeoutMs: 30 });
    const running = lane.enqueue("a");
    await running.granted;
    const controller = new AbortController();
    const gone = lane.enqueue("b", controller.signal);
    const slow = lane.enqueue("c");
    controller.abort();
    await expect(gone.granted).rejects.toMatchObject({ code: "ABORTED" });
    await expect(slow.granted).rejects.toMatchObject({ code: "TIMEOUT" });
    expect(lane.waiting).toBe(0);
    running.release();
    expect(lane.running).toBe(0);
    // Releasing twice, or releasing a refused ticket, changes nothing.
    running.release();
    gone.release();
    expect(lane.running).toBe(0);
  });
});

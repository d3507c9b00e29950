import type { AgentEvent } from "./events.js";
import type { AgentRun } from "./run.js";

/**
 * `agent.run()` returns at once, while its setup (decoding the images, restoring a snapshot) still runs: this
 * adapter gives the caller events, result, snapshot and abort that wait for the started run. A setup that fails
 * ends the events and rejects the result; an abort before the start is applied as soon as the run exists.
 */
export function deferRun(started: Promise<AgentRun>): AgentRun {
  const events: AsyncIterable<AgentEvent> = {
    [Symbol.asyncIterator]() {
      let inner: AsyncIterator<AgentEvent> | undefined;
      return {
        async next() {
          if (!inner) {
            try {
              inner = (await started).events[Symbol.asyncIterator]();
            } catch {
              return { value: undefined, done: true };
            }
          }
          return inner.next();
        },
      };
    },
  };
  const result = started.then((run) => run.result);
  // A caller that only reads the events must not crash the process with an unobserved rejection.
  result.catch(() => {});
  return {
    events,
    result,
    snapshot: () => started.then((run) => run.snapshot()),
    abort(reason) {
      started.then(
        (run) => run.abort(reason),
        () => {},
      );
    },
  };
}

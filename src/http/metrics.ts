import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";
import type { FairQueue } from "./admission.js";

/**
 * `/metrics` in Prometheus text. Where vLLM has a metric for the same thing its name is used (docs
 * usage/metrics.md: `vllm:num_requests_running`, `vllm:time_to_first_token_seconds`, …), so dashboards built
 * for vLLM read a `squint serve` too; Squint's own (visual tokens, agent turns, tool calls, locate) are
 * `squint_*`. One registry per server: two servers in one process (tests) do not share counters.
 */

/** vLLM's latency buckets start at 0.3 s; a tiny or OCR request is faster, so these reach down to 5 ms. */
const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 40, 80, 160];
const TOKEN_BUCKETS = [1, 8, 32, 128, 512, 1024, 2048, 4096, 8192, 16384, 32768];

export interface ServeMetrics {
  readonly registry: Registry;
  readonly e2eLatency: Histogram<"route">;
  readonly queueTime: Histogram<"lane">;
  readonly timeToFirstToken: Histogram;
  readonly interTokenLatency: Histogram;
  readonly promptTokens: Histogram;
  readonly generationTokens: Histogram;
  readonly promptTokensTotal: Counter;
  readonly generationTokensTotal: Counter;
  readonly requestSuccess: Counter<"finished_reason">;
  readonly admissionRejections: Counter<"reason">;
  readonly httpRequests: Counter<"route" | "status">;
  readonly visualTokens: Histogram;
  readonly agentTurns: Histogram;
  readonly toolCalls: Counter<"tool">;
  readonly locateQueries: Counter<"method" | "found">;
}

export function createServeMetrics(lanes: { model: FairQueue; ocr: FairQueue }, modelName: () => string): ServeMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const histogram = (name: string, help: string, buckets: number[], labelNames: string[] = []) =>
    new Histogram({ name, help, buckets, labelNames, registers: [registry] });
  const running = new Gauge({
    name: "vllm:num_requests_running",
    help: "Requests running on the model now.",
    labelNames: ["model_name"],
    registers: [registry],
    collect() {
      this.set({ model_name: modelName() }, lanes.model.running);
    },
  });
  const waiting = new Gauge({
    name: "vllm:num_requests_waiting",
    help: "Requests waiting for the model now.",
    labelNames: ["model_name"],
    registers: [registry],
    collect() {
      this.set({ model_name: modelName() }, lanes.model.waiting);
    },
  });
  new Gauge({
    name: "squint_ocr_requests_running",
    help: "OCR locate requests running now.",
    registers: [registry],
    collect() {
      this.set(lanes.ocr.running);
    },
  });
  new Gauge({
    name: "squint_ocr_requests_waiting",
    help: "OCR locate requests waiting now.",
    registers: [registry],
    collect() {
      this.set(lanes.ocr.waiting);
    },
  });
  void running;
  void waiting;
  return {
    registry,
    e2eLatency: histogram(
      "vllm:e2e_request_latency_seconds",
      "Request latency from arrival to the last byte, per route.",
      LATENCY_BUCKETS,
      ["route"],
    ) as Histogram<"route">,
    queueTime: histogram("vllm:request_queue_time_seconds", "Time a request waited for admission.", LATENCY_BUCKETS, [
      "lane",
    ]) as Histogram<"lane">,
    timeToFirstToken: histogram(
      "vllm:time_to_first_token_seconds",
      "Time from admission to the first generated token.",
      LATENCY_BUCKETS,
    ),
    interTokenLatency: histogram(
      "vllm:inter_token_latency_seconds",
      "Time between streamed deltas of one generation.",
      LATENCY_BUCKETS,
    ),
    promptTokens: histogram("vllm:request_prompt_tokens", "Prompt tokens per request.", TOKEN_BUCKETS),
    generationTokens: histogram("vllm:request_generation_tokens", "Generated tokens per request.", TOKEN_BUCKETS),
    promptTokensTotal: new Counter({
      name: "vllm:prompt_tokens_total",
      help: "Prompt tokens processed.",
      registers: [registry],
    }),
    generationTokensTotal: new Counter({
      name: "vllm:generation_tokens_total",
      help: "Tokens generated.",
      registers: [registry],
    }),
    requestSuccess: new Counter({
      name: "vllm:request_success_total",
      help: "Finished generations by finish reason.",
      labelNames: ["finished_reason"],
      registers: [registry],
    }),
    admissionRejections: new Counter({
      name: "vllm:admission_rejections_total",
      help: "Requests refused before any work, by reason (queue_full, not_ready, too_large, unauthorized).",
      labelNames: ["reason"],
      registers: [registry],
    }),
    httpRequests: new Counter({
      name: "squint_http_requests_total",
      help: "HTTP responses by route and status.",
      labelNames: ["route", "status"],
      registers: [registry],
    }),
    visualTokens: histogram(
      "squint_request_visual_tokens",
      "Visual tokens per request (the model's own count).",
      TOKEN_BUCKETS,
    ),
    agentTurns: histogram("squint_request_turns", "Model turns per /v1/ask run.", [1, 2, 3, 4, 6, 8, 12, 16, 32]),
    toolCalls: new Counter({
      name: "squint_tool_calls_total",
      help: "Tool calls: made by the agent in /v1/ask, or returned to the client by /v1/chat/completions.",
      labelNames: ["tool"],
      registers: [registry],
    }),
    locateQueries: new Counter({
      name: "squint_locate_queries_total",
      help: "Queries answered by /v1/locate, by method and whether anything was found.",
      labelNames: ["method", "found"],
      registers: [registry],
    }),
  };
}

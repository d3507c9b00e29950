/**
 * Ask Qwen3-VL about an image through a vLLM (or SGLang, Ollama, any OpenAI-compatible) server, printing each
 * tool call as the model zooms in. Run: node --import tsx examples/ask-remote.ts photo.jpg "What does the sign say?"
 * with SQUINT_BASE_URL and SQUINT_MODEL_NAME set for your server.
 */
import { createAgent, createRemoteBackend, stepCountIs } from "squint";

const [image = "photo.jpg", prompt = "What is written on the sign?"] = process.argv.slice(2);

const model = createRemoteBackend({
  baseUrl: process.env.SQUINT_BASE_URL ?? "http://127.0.0.1:8000/v1",
  model: process.env.SQUINT_MODEL_NAME ?? "Qwen/Qwen3-VL-8B-Thinking",
  preset: "vllm",
});
const agent = await createAgent({ model, stopWhen: stepCountIs(8) });

const { events, result } = agent.run({ images: [image], prompt });
for await (const event of events) {
  if (event.type === "tool-call") console.log(`step ${event.step}: ${event.toolName} ${JSON.stringify(event.input)}`);
}
const outcome = await result;
console.log(outcome.status === "answered" ? outcome.answer : `${outcome.status}: ${outcome.error?.message ?? ""}`);
await agent.close();
await model.close();

// Official A2A JS SDK client holding a conversation with fixloop's triage agent. Usage:
//   node conversation.mjs BASE_URL FIRST_TEXT ANSWER_TEXT
// Streams FIRST_TEXT (expects TASK_STATE_INPUT_REQUIRED with a question), then streams ANSWER_TEXT into the
// same task and context; prints one JSON object with both streams' states, the question and the artifact.
import { ClientFactory } from "@a2a-js/sdk/client";
import { randomUUID } from "node:crypto";

const [base, first, answer] = process.argv.slice(2);
if (!base || !first || !answer) {
  console.error("usage: node conversation.mjs BASE_URL FIRST_TEXT ANSWER_TEXT");
  process.exit(2);
}
const ROLE_USER = 1;
const textPart = (value) => ({ content: { $case: "text", value }, metadata: undefined, filename: "", mediaType: "text/plain" });
const message = (text, taskId = "", contextId = "") => ({ messageId: randomUUID(), contextId, taskId, role: ROLE_USER,
  parts: [textPart(text)], metadata: undefined, extensions: [], referenceTaskIds: [] });

// stream sends one message and folds the events: final state, task/context ids, status texts, artifacts.
async function stream(client, msg) {
  const seen = { states: [], texts: [], artifacts: [] };
  const req = { tenant: "", configuration: undefined, metadata: undefined, message: msg };
  for await (const ev of client.sendMessageStream(req, { signal: AbortSignal.timeout(120_000) })) {
    const p = ev.payload ?? ev;
    const kind = p.$case ?? p.kind;
    const v = p.value ?? p;
    if (kind === "task") {
      seen.taskId = v.id; seen.contextId = v.contextId; seen.states.push(v.status?.state);
    } else if (kind === "statusUpdate" || kind === "status-update") {
      seen.taskId = v.taskId; seen.contextId = v.contextId; seen.states.push(v.status?.state);
      for (const part of v.status?.message?.parts ?? []) if (part.content?.$case === "text") seen.texts.push(part.content.value);
    } else if (kind === "artifactUpdate" || kind === "artifact-update") {
      for (const part of v.artifact?.parts ?? []) {
        if (part.content?.$case === "data") seen.artifacts.push({ mediaType: part.mediaType, data: part.content.value });
      }
    }
  }
  seen.finalState = seen.states[seen.states.length - 1];
  return seen;
}

const out = {};
try {
  const client = await new ClientFactory().createFromUrl(base);
  out.first = await stream(client, message(first));
  out.second = await stream(client, message(answer, out.first.taskId, out.first.contextId));
  out.ok = true;
} catch (err) {
  out.ok = false;
  out.error = String(err?.stack ?? err);
}
console.log(JSON.stringify(out));
process.exit(out.ok ? 0 : 1);

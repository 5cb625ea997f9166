// Official A2A JS SDK client against fixloop's triage agent. Usage:
//   node client.mjs BASE_URL NAMESPACE ROLLOUT
// Prints one JSON object: what sendMessage, sendMessageStream and getTask returned.
import { ClientFactory } from "@a2a-js/sdk/client";
import { randomUUID } from "node:crypto";

const [base, namespace, rollout] = process.argv.slice(2);
if (!base || !namespace || !rollout) {
  console.error("usage: node client.mjs BASE_URL NAMESPACE ROLLOUT");
  process.exit(2);
}

const ROLE_USER = 1;
const TERMINAL = new Set([3, 4, 5, 6, "TASK_STATE_COMPLETED", "TASK_STATE_FAILED", "TASK_STATE_CANCELED", "TASK_STATE_REJECTED"]);

function message(parts) {
  return { messageId: randomUUID(), contextId: "", taskId: "", role: ROLE_USER, parts, metadata: undefined, extensions: [], referenceTaskIds: [] };
}
const dataPart = (value) => ({ content: { $case: "data", value }, metadata: undefined, filename: "", mediaType: "application/json" });
const textPart = (value) => ({ content: { $case: "text", value }, metadata: undefined, filename: "", mediaType: "text/plain" });

function verdictOf(artifacts) {
  for (const a of artifacts ?? []) {
    for (const p of a.parts ?? []) {
      if (p.content?.$case === "data") return p.content.value;
    }
  }
  return null;
}

const out = {};
try {
  const factory = new ClientFactory();
  const client = await factory.createFromUrl(base); // root card = triage
  const card = await (await fetch(base + "/.well-known/agent-card.json")).json();
  out.cardName = card.name;
  out.skills = (card.skills ?? []).map((s) => s.id);

  const req = { tenant: "", configuration: undefined, metadata: undefined,
    message: message([dataPart({ skill: "analyze_canary", namespace, rollout, noIssue: true })]) };
  const res = await client.sendMessage(req, { signal: AbortSignal.timeout(300_000) });
  const task = res.status ? res : null;
  out.sendState = task?.status?.state;
  out.sendVerdict = verdictOf(task?.artifacts);
  out.taskId = task?.id;

  const got = await client.getTask({ tenant: "", id: task.id, historyLength: undefined });
  out.getTaskState = got.status?.state;
  out.getTaskVerdict = verdictOf(got.artifacts);

  out.progress = [];
  out.streamEvents = 0;
  const sreq = { tenant: "", configuration: undefined, metadata: undefined,
    message: message([textPart(`Analyze canary deployment for rollout '${rollout}'. Namespace: ${namespace}.`), dataPart({ noIssue: true })]) };
  for await (const ev of client.sendMessageStream(sreq, { signal: AbortSignal.timeout(300_000) })) {
    out.streamEvents++;
    const p = ev.payload ?? ev;
    const kind = p.$case ?? p.kind;
    const v = p.value ?? p;
    if (kind === "statusUpdate" || kind === "status-update") {
      const parts = v.status?.message?.parts ?? [];
      for (const part of parts) if (part.content?.$case === "text") out.progress.push(part.content.value);
      out.streamFinalState = v.status?.state;
    } else if (kind === "artifactUpdate" || kind === "artifact-update") {
      out.streamVerdict = verdictOf([v.artifact]);
    } else if (kind === "task") {
      out.streamFinalState = v.status?.state;
    }
  }
  out.ok = true;
} catch (err) {
  out.ok = false;
  out.error = String(err?.stack ?? err);
}
console.log(JSON.stringify(out));
process.exit(out.ok ? 0 : 1);

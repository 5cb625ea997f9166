// Interop check with code nobody on this project wrote: the official MCP TypeScript SDK client lists and
// calls fixloop's tools over stdio (spawning `fixloop mcp`) and streamable HTTP (`fixloop serve`).
// Usage: node interop.mjs <fixloop binary> <http base URL>; prints a JSON report, exits 1 on failure.
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";

const [bin, httpBase] = process.argv.slice(2);
if (!bin || !httpBase) {
  console.error("usage: node interop.mjs <fixloop binary> <http base URL>");
  process.exit(2);
}

const failures = [];
const report = {};
const check = (cond, msg) => { if (!cond) failures.push(msg); };

async function exercise(name, transport) {
  const client = new Client({ name: "fixloop-interop", version: "1.0.0" });
  await client.connect(transport);
  const r = { protocol: transport.protocolVersion ?? null, server: client.getServerVersion() };
  const { tools } = await client.listTools();
  r.tools = tools.map((t) => t.name).sort();
  for (const t of tools) {
    check(t.inputSchema && t.inputSchema.type === "object", `${name}: ${t.name} has no object input schema`);
    check(t.outputSchema && t.outputSchema.type === "object", `${name}: ${t.name} has no output schema`);
    check(t.annotations && typeof t.annotations.readOnlyHint === "boolean", `${name}: ${t.name} lacks readOnlyHint`);
  }
  for (const want of ["get_architecture", "get_logs", "get_metrics", "promote_rollout", "abort_rollout", "server_info"]) {
    check(r.tools.includes(want), `${name}: tools/list lacks ${want}`);
  }
  // The SDK validates structuredContent against the advertised outputSchema: a success proves they agree.
  const info = await client.callTool({ name: "server_info", arguments: {} });
  check(!info.isError && info.structuredContent && typeof info.structuredContent.version === "string",
    `${name}: server_info: ${JSON.stringify(info)}`);
  r.serverInfo = info.structuredContent;
  const arch = await client.callTool({ name: "get_architecture", arguments: { namespace: "default" } });
  check(arch.isError === true && /no cluster configured/.test(arch.content?.[0]?.text ?? ""),
    `${name}: get_architecture without a cluster: ${JSON.stringify(arch)}`);
  r.getArchitecture = arch.content?.[0]?.text;
  const bad = await client.callTool({ name: "get_logs", arguments: { namespace: "x", pod: "p", maxLines: "lots" } });
  check(bad.isError === true, `${name}: schema-invalid get_logs accepted: ${JSON.stringify(bad)}`);
  const { prompts } = await client.listPrompts();
  r.prompts = prompts.map((p) => p.name);
  check(r.prompts.includes("analyze_canary"), `${name}: prompts/list lacks analyze_canary`);
  await client.close();
  report[name] = r;
}

const env = { PATH: process.env.PATH, HOME: process.env.FIXLOOP_INTEROP_HOME ?? process.env.HOME };
try {
  await exercise("stdio", new StdioClientTransport({ command: bin, args: ["mcp"], env, stderr: "pipe" }));
  await exercise("http", new StreamableHTTPClientTransport(new URL(httpBase + "/mcp")));
} catch (e) {
  failures.push(`exception: ${e?.stack ?? e}`);
}
report.failures = failures;
console.log(JSON.stringify(report, null, 2));
process.exit(failures.length ? 1 : 0);

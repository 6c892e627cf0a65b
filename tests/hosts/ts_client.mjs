// The official TypeScript MCP SDK 1.x client (what desktop and IDE hosts embed) driving
// crmgate through the scenario every host needs. Run by tests/hosts.rs:
//
//   node ts_client.mjs stdio BIN [ARGS...]
//   node ts_client.mjs http URL TOKEN
//
// Prints one line per check ("ok ..." / "FAIL ...") and exits 1 if any check failed. The
// values the agent must reuse (confirm_token, the next cursor) are taken from the text
// content, as a framework that passes only text to the model would.

import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import Ajv2020 from "ajv/dist/2020.js";

const [mode, ...rest] = process.argv.slice(2);
let failed = 0;
function check(ok, what, detail = "") {
  console.log(`${ok ? "ok" : "FAIL"} ts-sdk ${mode}: ${what}${ok || !detail ? "" : ` — ${detail}`}`);
  if (!ok) failed += 1;
}
const text = (r) => (r.content ?? []).filter((c) => c.type === "text").map((c) => c.text).join("\n");

let transport;
if (mode === "stdio") {
  const [command, ...args] = rest;
  transport = new StdioClientTransport({ command, args, stderr: "ignore", env: { ...process.env } });
} else if (mode === "http") {
  const [url, token] = rest;
  transport = new StreamableHTTPClientTransport(new URL(url), {
    requestInit: { headers: { Authorization: `Bearer ${token}` } },
  });
} else {
  console.error("usage: ts_client.mjs stdio BIN [ARGS...] | http URL TOKEN");
  process.exit(2);
}

const client = new Client({ name: "crmgate-ts-sdk-check", version: "1.0.0" });
try {
  await client.connect(transport);
  check(client.getServerVersion()?.name === "crmgate", "initialize");

  // every tool listed; every input schema compiles under Ajv (JSON Schema 2020-12, strict)
  const { tools } = await client.listTools();
  const names = tools.map((t) => t.name);
  check(["crm_search", "crm_get", "crm_delete"].every((n) => names.includes(n)), "tools/list", names.join(","));
  const ajv = new Ajv2020({ strict: true, allErrors: true });
  for (const tool of tools) {
    try {
      ajv.compile(tool.inputSchema);
      check(true, `${tool.name} inputSchema compiles`);
    } catch (e) {
      check(false, `${tool.name} inputSchema compiles`, String(e));
    }
  }

  // a successful search
  const found = await client.callTool({ name: "crm_search", arguments: { entity: "deals", limit: 2 } });
  check(!found.isError && found.structuredContent?.records?.length === 2, "search", text(found));
  check(text(found).includes("<crm-data>") && text(found).includes("</crm-data>"), "CRM text is fenced");

  // a failing call: a result the host can read (SDK 1.x would throw -32602 on a schema
  // mismatch), its code visible to the model in the text
  let failure;
  try {
    failure = await client.callTool({ name: "crm_get", arguments: { entity: "deals", id: "no-such-deal" } });
  } catch (e) {
    check(false, "a failing call is a result, not an exception", String(e));
  }
  if (failure) {
    check(failure.isError === true, "a failing call is isError");
    check(text(failure).includes("NOT_FOUND"), "its code is in the text", text(failure));
    check(failure._meta?.crmgate?.error?.code === "NOT_FOUND", "its error object is in _meta.crmgate.error");
  }

  // delete: preview, then confirm with the token read from the text
  const preview = await client.callTool({ name: "crm_delete", arguments: { entity: "deals", id: "dl-0010" } });
  const token = /confirm_token "([^"]+)"/.exec(text(preview))?.[1];
  check(!preview.isError && token && token === preview.structuredContent?.confirm_token, "delete preview carries its token in the text", text(preview));
  const deleted = await client.callTool({ name: "crm_delete", arguments: { entity: "deals", id: "dl-0010", confirm_token: token } });
  check(!deleted.isError && deleted.structuredContent?.deleted === true, "delete with the token", text(deleted));
  const gone = await client.callTool({ name: "crm_get", arguments: { entity: "deals", id: "dl-0010" } });
  check(gone.isError === true && text(gone).includes("NOT_FOUND"), "the record is gone");

  // paging with the cursor read from the text
  const seen = new Set();
  let args = { entity: "contacts", limit: 5 };
  for (let page = 1; page <= 3; page += 1) {
    const r = await client.callTool({ name: "crm_search", arguments: args });
    const ids = (r.structuredContent?.records ?? []).map((x) => x.id);
    check(!r.isError && ids.length === 5 && ids.every((id) => !seen.has(id)), `page ${page} is new`, ids.join(","));
    ids.forEach((id) => seen.add(id));
    const cursor = /pass cursor "([^"]+)"/.exec(text(r))?.[1];
    check(cursor && cursor === r.structuredContent?.next_cursor, `page ${page} names its cursor in the text`);
    args = { entity: "contacts", limit: 5, cursor };
  }
} catch (e) {
  check(false, "the scenario ran to its end", String(e?.stack ?? e));
} finally {
  await client.close().catch(() => {});
}
process.exit(failed ? 1 : 0);

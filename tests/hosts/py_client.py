"""The official Python MCP SDK (`mcp` on PyPI) driving crmgate through the scenario every host
needs. Run by tests/hosts.rs with each installed SDK version:

    python py_client.py stdio BIN [ARGS...]
    python py_client.py http URL TOKEN

Prints one line per check ("ok ..." / "FAIL ...") and exits 1 if any check failed. The values
the agent must reuse (confirm_token, the next cursor) are taken from the text content, as a
framework that passes only text to the model would.
"""

import asyncio
import importlib.metadata
import re
import sys
from contextlib import AsyncExitStack

from jsonschema import Draft202012Validator
from mcp import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client

try:  # mcp 2.x ships its own httpx
    import httpx2 as httpx
except ImportError:
    import httpx

VERSION = importlib.metadata.version("mcp")
MODE = sys.argv[1] if len(sys.argv) > 1 else ""
failed = 0


def check(ok, what, detail=""):
    global failed
    suffix = f" — {detail}" if (not ok and detail) else ""
    print(f"{'ok' if ok else 'FAIL'} python-sdk {VERSION} {MODE}: {what}{suffix}", flush=True)
    if not ok:
        failed += 1


def attr(obj, snake, camel):
    """A field under its 2.x (snake_case) or 1.x (camelCase) name."""
    value = getattr(obj, snake, None)
    return getattr(obj, camel, None) if value is None else value


def is_error(result):
    return attr(result, "is_error", "isError")


def structured(result):
    return attr(result, "structured_content", "structuredContent") or {}


def text(result):
    return "\n".join(c.text for c in result.content if getattr(c, "type", "") == "text")


def meta(result):
    return attr(result, "meta", "_meta") or {}


async def scenario(session):
    init = await session.initialize()
    check(attr(init, "server_info", "serverInfo").name == "crmgate", "initialize")

    tools = (await session.list_tools()).tools
    names = [t.name for t in tools]
    check(all(n in names for n in ("crm_search", "crm_get", "crm_delete")), "tools/list", ",".join(names))
    for tool in tools:
        try:
            Draft202012Validator.check_schema(attr(tool, "input_schema", "inputSchema"))
            check(True, f"{tool.name} inputSchema is valid JSON Schema 2020-12")
        except Exception as e:  # noqa: BLE001
            check(False, f"{tool.name} inputSchema is valid JSON Schema 2020-12", str(e))

    found = await session.call_tool("crm_search", {"entity": "deals", "limit": 2})
    records = structured(found).get("records", [])
    check(not is_error(found) and len(records) == 2, "search", text(found))
    check("<crm-data>" in text(found) and "</crm-data>" in text(found), "CRM text is fenced")

    failure = await session.call_tool("crm_get", {"entity": "deals", "id": "no-such-deal"})
    check(is_error(failure) is True, "a failing call is isError")
    check("NOT_FOUND" in text(failure), "its code is in the text", text(failure))
    check(meta(failure).get("crmgate", {}).get("error", {}).get("code") == "NOT_FOUND", "its error object is in _meta.crmgate.error")

    preview = await session.call_tool("crm_delete", {"entity": "deals", "id": "dl-0011"})
    match = re.search(r'confirm_token "([^"]+)"', text(preview))
    token = match.group(1) if match else None
    check(not is_error(preview) and token and token == structured(preview).get("confirm_token"), "delete preview carries its token in the text", text(preview))
    deleted = await session.call_tool("crm_delete", {"entity": "deals", "id": "dl-0011", "confirm_token": token})
    check(not is_error(deleted) and structured(deleted).get("deleted") is True, "delete with the token", text(deleted))
    gone = await session.call_tool("crm_get", {"entity": "deals", "id": "dl-0011"})
    check(is_error(gone) is True and "NOT_FOUND" in text(gone), "the record is gone")

    seen = set()
    args = {"entity": "contacts", "limit": 5}
    for page in (1, 2, 3):
        r = await session.call_tool("crm_search", args)
        ids = [x["id"] for x in structured(r).get("records", [])]
        check(not is_error(r) and len(ids) == 5 and not seen.intersection(ids), f"page {page} is new", ",".join(ids))
        seen.update(ids)
        match = re.search(r'pass cursor "([^"]+)"', text(r))
        cursor = match.group(1) if match else None
        check(cursor and cursor == structured(r).get("next_cursor"), f"page {page} names its cursor in the text")
        args = {"entity": "contacts", "limit": 5, "cursor": cursor}


async def main():
    async with AsyncExitStack() as stack:
        if MODE == "stdio":
            params = StdioServerParameters(command=sys.argv[2], args=sys.argv[3:], env=None)
            streams = await stack.enter_async_context(stdio_client(params, errlog=open("/dev/null", "w")))
        elif MODE == "http":
            url, token = sys.argv[2], sys.argv[3]
            http = await stack.enter_async_context(httpx.AsyncClient(headers={"Authorization": f"Bearer {token}"}))
            streams = await stack.enter_async_context(streamable_http_client(url, http_client=http))
        else:
            print("usage: py_client.py stdio BIN [ARGS...] | http URL TOKEN", file=sys.stderr)
            sys.exit(2)
        read, write = streams[0], streams[1]
        session = await stack.enter_async_context(ClientSession(read, write))
        try:
            await scenario(session)
        except Exception as e:  # noqa: BLE001
            check(False, "the scenario ran to its end", repr(e))


asyncio.run(main())
sys.exit(1 if failed else 0)

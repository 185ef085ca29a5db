"""A real MCP client (the official Python SDK, `mcp`) driving `oc-integrate mcp`.

Usage:
  client.py stdio SERVER_COMMAND... < steps.json      # spawn the server over stdio
  client.py http URL TOKEN_ENV < steps.json            # connect over streamable HTTP

steps.json is a JSON array; each step is one of
  {"op": "tools"}                                      tools/list
  {"op": "call", "tool": NAME, "args": {...}}          tools/call (progress collected)
  {"op": "cancel", "tool": NAME, "args": {...}, "after_progress": N, "pid_file": PATH}
                                                       tools/call, cancelled after N progress notifications;
                                                       then whether the process in PATH stopped
  {"op": "resources"} | {"op": "read", "uri": URI}     resources/list, resources/read
  {"op": "prompts"} | {"op": "prompt", "name": NAME, "args": {...}}
The results, one per step, are printed as a JSON array on stdout; with OC_MCP_TRANSCRIPT=1
a readable transcript of the session goes to stderr. The server's environment is this
process's (the SDK passes only a few variables unless told).
"""

import json
import os
import sys

import anyio
from mcp import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client


def say(text):
    if os.environ.get("OC_MCP_TRANSCRIPT") == "1":
        print(text, file=sys.stderr, flush=True)


def dump(model):
    return model.model_dump(mode="json", by_alias=True, exclude_none=True)


async def call(session, step, results):
    progress = []

    async def on_progress(done, total, message):
        progress.append({"progress": done, "total": total, "message": message})
        say(f"  progress {done:g}/{total if total is None else f'{total:g}'}: {message}")

    say(f"> tools/call {step['tool']} {json.dumps(step.get('args', {}))}")
    result = await session.call_tool(step["tool"], step.get("args", {}), progress_callback=on_progress)
    out = dump(result)
    out["progress"] = progress
    shown = json.dumps(out.get("structuredContent", out.get("content")))
    say(f"< {'ERROR ' if out.get('isError') else ''}{shown[:600]}{'…' if len(shown) > 600 else ''}")
    results.append(out)


async def cancel(session, step, results):
    seen = anyio.Event()
    count = 0

    async def on_progress(done, total, message):
        nonlocal count
        count += 1
        say(f"  progress {done:g}: {message}")
        if count >= step.get("after_progress", 1):
            seen.set()

    outcome = {"cancelled": False}
    say(f"> tools/call {step['tool']} (to be cancelled)")
    async with anyio.create_task_group() as tg:

        async def run():
            try:
                await session.call_tool(step["tool"], step.get("args", {}), progress_callback=on_progress)
                outcome["finished"] = True
            except anyio.get_cancelled_exc_class():
                outcome["cancelled"] = True
                raise

        tg.start_soon(run)
        with anyio.fail_after(step.get("timeout", 600)):
            await seen.wait()
        tg.cancel_scope.cancel()
    say("< cancelled by the client")
    if "pid_file" in step:
        # whether the server stopped the run while the session goes on
        pid = open(step["pid_file"]).read().strip()
        for _ in range(100):
            outcome["stopped"] = not os.path.exists(f"/proc/{pid}") or ") Z " in open(f"/proc/{pid}/stat").read()
            if outcome["stopped"]:
                break
            await anyio.sleep(0.1)
    results.append(outcome)


async def drive(session, steps):
    init = await session.initialize()
    say(f"connected to {init.server_info.name} {init.server_info.version} (protocol {init.protocol_version})")
    results = []
    for step in steps:
        op = step["op"]
        if op == "tools":
            tools = (await session.list_tools()).tools
            say(f"> tools/list\n< {len(tools)} tools: {', '.join(t.name for t in tools)}")
            results.append([dump(t) for t in tools])
        elif op == "call":
            await call(session, step, results)
        elif op == "cancel":
            await cancel(session, step, results)
        elif op == "resources":
            found = (await session.list_resources()).resources
            say(f"> resources/list\n< {len(found)} resources: {', '.join(str(r.uri) for r in found)}")
            results.append([dump(r) for r in found])
        elif op == "read":
            say(f"> resources/read {step['uri']}")
            try:
                contents = dump(await session.read_resource(step["uri"]))
                say(f"< {contents['contents'][0].get('text', '')[:200]!r}")
                results.append(contents)
            except Exception as e:  # the server's refusal, as the client sees it
                say(f"< error: {e}")
                results.append({"error": str(e)})
        elif op == "prompts":
            prompts = (await session.list_prompts()).prompts
            say(f"> prompts/list\n< {', '.join(p.name for p in prompts)}")
            results.append([dump(p) for p in prompts])
        elif op == "prompt":
            say(f"> prompts/get {step['name']} {json.dumps(step.get('args', {}))}")
            got = dump(await session.get_prompt(step["name"], step.get("args", {})))
            say(f"< {got['messages'][0]['content']['text'][:200]!r}…")
            results.append(got)
        else:
            raise SystemExit(f"unknown step {op!r}")
    return results


async def main():
    steps = json.load(sys.stdin)
    mode = sys.argv[1]
    if mode == "stdio":
        params = StdioServerParameters(command=sys.argv[2], args=sys.argv[3:], env=dict(os.environ))
        async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
            results = await drive(session, steps)
    elif mode == "http":
        url, token_env = sys.argv[2], sys.argv[3]
        headers = {"Authorization": f"Bearer {os.environ[token_env]}"} if os.environ.get(token_env) else {}
        async with (
            create_mcp_http_client(headers=headers) as http,
            streamable_http_client(url, http_client=http) as (read, write),
            ClientSession(read, write) as session,
        ):
            results = await drive(session, steps)
    else:
        raise SystemExit(f"expected stdio or http, found {mode!r}")
    json.dump(results, sys.stdout)


if __name__ == "__main__":
    anyio.run(main)

#!/usr/bin/env python3
"""Regenerate link/hot-symbols.txt: the functions a typical crmgate session runs.

build.rs hands this list to the linker (lld's --symbol-ordering-file), which places these
functions next to each other at the start of .text. The kernel maps code 64 KB at a time
around each page a process touches; with the hot code packed together a stdio session touches
a few hundred KB of text instead of pages strewn over 23 MB (see docs/performance.md).

Symbol names carry hashes that differ between `cargo build --release` and the binary
`cargo bench` builds (dev-dependencies unify features differently), and change with the
toolchain and the dependencies: the list holds the names of both builds, each build's in one
run of the file (lld skips the names it does not have). Regenerate after a toolchain or
dependency update (the floor bench's RSS figure shows the loss):

    cargo build --release && cp target/release/crmgate /tmp/crmgate-build
    cargo bench --no-run && python3 scripts/hot_symbols.py /tmp/crmgate-build target/release/crmgate

Needs valgrind. Sessions: the demo CRM over stdio (every read tool, a write), BottleCRM and
EspoCRM over stdio against their sandboxes, and hosted mode on the demo.
"""
import http.client, json, os, re, signal, subprocess, sys, tempfile, time

BINS = [os.path.abspath(b) for b in sys.argv[1:]] or [os.path.abspath("target/release/crmgate")]
BIN = BINS[0]
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "link", "hot-symbols.txt")
TMP = tempfile.mkdtemp(prefix="crmgate-hot-")
INIT = {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "hot", "version": "0"}}


def grind(name):
    return ["valgrind", "--tool=callgrind", "--demangle=no",
            f"--callgrind-out-file={TMP}/{name}.out"]


def stdio(name, args, calls, env=None):
    p = subprocess.Popen(grind(name) + [BIN] + args, stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env)
    n = 0

    def req(method, params):
        nonlocal n
        n += 1
        line = json.dumps({"jsonrpc": "2.0", "id": n, "method": method, "params": params})
        p.stdin.write(line.encode() + b"\n")
        p.stdin.flush()
        return json.loads(p.stdout.readline())

    req("initialize", INIT)
    p.stdin.write(b'{"jsonrpc":"2.0","method":"notifications/initialized"}\n')
    req("tools/list", {})
    for tool, arguments in calls:
        req("tools/call", {"name": tool, "arguments": arguments})
    p.stdin.close()
    p.wait()


def demo_calls():
    return [("crm_entities", {}), ("crm_describe", {"entity": "deals"}),
            ("crm_search", {"entity": "deals", "limit": 10}),
            ("crm_search", {"entity": "contacts", "query": "a", "limit": 5}),
            ("crm_get", {"entity": "deals", "id": "dl-0001"}),
            ("crm_get", {"entity": "deals", "id": "no-such-id"})] * 2


def vendor(name, secret_line, section, calls):
    """A stdio session against `name`'s sandbox: its URL and the secret matched by
    `secret_line` (sent as $HOT_SECRET) come from the sandbox's banner; `section` is the config
    after `url`."""
    sandbox = subprocess.Popen([BIN, "sandbox", name, "--port", "0"],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    url = secret = None
    for line in sandbox.stdout:
        m = re.search(r"listening on (http://\S+)", line)
        if m:
            url = m.group(1)
        m = re.match(secret_line, line)
        if m:
            secret = m.group(1)
            break
    config = os.path.join(TMP, f"{name}.toml")
    with open(config, "w") as f:
        f.write(f'[crm.{name}]\nkind = "{name}"\nurl = "{url}"\n{section}')
    env = dict(os.environ, HOT_SECRET=secret)
    stdio(name, ["--config", config, "serve"], calls * 2, env)
    sandbox.terminate()
    sandbox.wait()


def bottle():
    vendor("bottlecrm", r"\s+(bcrm_pat_\S+)\s+org A ADMIN",
           'token_env = "HOT_SECRET"\napp_url = "https://app.bottlecrm.example"\n',
           [("crm_entities", {}), ("crm_describe", {"entity": "leads"}),
            ("crm_search", {"entity": "leads", "limit": 10}),
            ("crm_search", {"entity": "contacts", "limit": 10})])


def espocrm():
    vendor("espocrm", r"\s+api key \(full access\):\s+(\S+)", 'api_key_env = "HOT_SECRET"\n',
           [("crm_entities", {}), ("crm_describe", {"entity": "contacts"}),
            ("crm_search", {"entity": "contacts", "limit": 10}),
            ("crm_search", {"entity": "accounts", "limit": 10})])


def hosted():
    config = os.path.join(TMP, "hosted.toml")
    with open(config, "w") as f:
        f.write("[http]\nper_caller_per_second = 100000\nper_caller_burst = 100000\n")
    p = subprocess.Popen(grind("hosted") + [BIN, "--config", config, "serve", "--http", "127.0.0.1:0"],
                         stderr=subprocess.PIPE, text=True)
    addr = None
    for line in p.stderr:
        m = re.search(r"serving MCP at http://([^/]+)/", line)
        if m:
            addr = m.group(1)
            break
    host, port = addr.rsplit(":", 1)
    headers = {"authorization": "Bearer hot-1", "content-type": "application/json",
               "accept": "application/json, text/event-stream", "mcp-protocol-version": "2026-07-28",
               "mcp-method": "tools/call"}
    meta = {"io.modelcontextprotocol/protocolVersion": "2026-07-28",
            "io.modelcontextprotocol/clientCapabilities": {},
            "io.modelcontextprotocol/clientInfo": {"name": "hot", "version": "1"}}
    c = http.client.HTTPConnection(host, int(port))
    for tool, arguments in demo_calls():
        body = {"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                "params": {"name": tool, "arguments": arguments, "_meta": meta}}
        c.request("POST", "/mcp", json.dumps(body), dict(headers, **{"mcp-name": tool}))
        c.getresponse().read()
    c.close()
    p.send_signal(signal.SIGTERM)
    p.stderr.read()
    p.wait()


def executed(path):
    """Function names (mangled) with any cost in the crmgate object of one callgrind output."""
    objects, functions, names, current = {}, {}, set(), None
    for line in open(path, errors="replace"):
        line = line.rstrip("\n")
        m = re.match(r"^(c?ob)=\((\d+)\)(?: (.*))?$", line)
        if m:
            if m.group(3):
                objects[m.group(2)] = m.group(3)
            if m.group(1) == "ob":
                current = objects.get(m.group(2), "")
            continue
        m = re.match(r"^(c?fn)=\((\d+)\)(?: (.*))?$", line)
        if m:
            if m.group(3):
                functions[m.group(2)] = m.group(3)
            if m.group(1) == "fn" and current == BIN:
                names.add(functions.get(m.group(2), ""))
    return {n for n in names if n and not n.startswith("0x") and " " not in n}


def one_build(binary):
    """This build's hot functions, each stdio session's contiguous: demo only, demo and
    BottleCRM, BottleCRM only, EspoCRM only (its HTTP client is BottleCRM's), then hosted only."""
    global BIN
    BIN = binary
    stdio("demo", ["serve"], demo_calls())
    bottle()
    espocrm()
    hosted()
    defined = set(subprocess.run(["nm", "--defined-only", "-j", BIN], capture_output=True,
                                 text=True).stdout.split())
    demo, bottle_, espo, hosted_ = (executed(f"{TMP}/{name}.out") & defined
                                    for name in ("demo", "bottlecrm", "espocrm", "hosted"))
    return [n for group in (sorted(demo - bottle_), sorted(demo & bottle_),
                            sorted(bottle_ - demo), sorted(espo - demo - bottle_),
                            sorted(hosted_ - demo - bottle_ - espo))
            for n in group]


names, seen = [], set()
for binary in BINS:
    for name in one_build(binary):
        if name not in seen:
            seen.add(name)
            names.append(name)
with open(OUT, "w") as f:
    f.write("".join(f"{n}\n" for n in names))
print(f"{len(names)} hot functions of {len(BINS)} build(s) written to {OUT}")

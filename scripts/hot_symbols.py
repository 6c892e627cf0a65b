#!/usr/bin/env python3
"""Regenerate link/hot-symbols.txt: the functions a typical crmgate session runs.

build.rs hands this list to the linker (lld's --symbol-ordering-file), which places these
functions next to each other at the start of .text. The kernel maps code 64 KB at a time
around each page a process touches; with the hot code packed together a stdio session touches
a few hundred KB of text instead of pages strewn over 23 MB (see docs/performance.md).

Symbol names carry hashes that differ between builds: `cargo build-static` (the shipped Linux
binary) and `cargo bench-static` (what CI measures) name for an explicit target,
`cargo build --release` and `cargo bench` for the host, and the bench builds unify
dev-dependency features differently. They also change with the toolchain and the dependencies.
The list holds the names of every build given, each build's in one run of the file (lld skips
the names it does not have); `--keep` appends the current list's other names (the builds not
given this time). Regenerate after a toolchain or dependency update (the bench's RSS figures
show the loss):

    cargo build-static && cp target/x86_64-unknown-linux-gnu/release/crmgate /tmp/crmgate-static
    cargo bench-static --no-run
    python3 scripts/hot_symbols.py --keep /tmp/crmgate-static target/x86_64-unknown-linux-gnu/release/crmgate

Needs valgrind. Sessions: the demo CRM over stdio (its read tools), BottleCRM,
EspoCRM, Bitrix24 and Atomic CRM (PostgREST) over stdio against their sandboxes, Atomic CRM
over PostgreSQL in a throw-away database (when psql reaches CRMGATE_TEST_PG_ADMIN_URL), and
hosted mode on the demo.
"""
import base64, hashlib, hmac, http.client, itertools, json, os, re, signal, subprocess, sys, tempfile, time

KEEP = "--keep" in sys.argv[1:]
BINS = ([os.path.abspath(b) for b in sys.argv[1:] if b != "--keep"]
        or [os.path.abspath("target/release/crmgate")])
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


def vendor(name, secrets, section, calls):
    """A stdio session against `name`'s sandbox. `secrets` maps an environment variable to a
    regex of the sandbox's banner whose group is its value; `section` is the config section's
    body, with {url} for the address the sandbox listens on."""
    sandbox = subprocess.Popen([BIN, "sandbox", name, "--port", "0"],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    url, env = None, dict(os.environ)
    for line in sandbox.stdout:
        m = re.search(r"listening on (http://\S+)", line)
        if m:
            url = m.group(1)
        for var, pattern in secrets.items():
            m = re.match(pattern, line)
            if m:
                env[var] = m.group(1)
        if url and all(var in env for var in secrets):
            break
    config = os.path.join(TMP, f"{name}.toml")
    with open(config, "w") as f:
        f.write(f'[crm.{name}]\nkind = "{name}"\n' + section.format(url=url))
    stdio(name, ["--config", config, "serve"], calls * 2, env)
    sandbox.terminate()
    sandbox.wait()


def vendor_calls(*entities):
    return [("crm_entities", {}), ("crm_describe", {"entity": entities[0]})] + [
        ("crm_search", {"entity": e, "limit": 10}) for e in entities]


def bottle():
    vendor("bottlecrm", {"HOT_SECRET": r"\s+(bcrm_pat_\S+)\s+org A ADMIN"},
           'url = "{url}"\ntoken_env = "HOT_SECRET"\napp_url = "https://app.bottlecrm.example"\n',
           vendor_calls("leads", "contacts"))


def espocrm():
    vendor("espocrm", {"HOT_SECRET": r"\s+api key \(full access\):\s+(\S+)"},
           'url = "{url}"\napi_key_env = "HOT_SECRET"\n', vendor_calls("contacts", "accounts"))


def bitrix24():
    vendor("bitrix24", {"HOT_SECRET": r"webhook:\s+(http://\S+)"},
           'webhook_url_env = "HOT_SECRET"\n', vendor_calls("leads", "contacts"))


def atomic():
    vendor("atomic", {"HOT_ANON": r"\s+anon key\s+= (\S+)", "HOT_JWT": r"\s+jwt secret\s+= (\S+)",
                      "HOT_PASSWORD": r"\s+users\s+= \S+ / (\S+)"},
           'transport = "postgrest"\nsupabase_url = "{url}"\nanon_key_env = "HOT_ANON"\n'
           'email = "alice@example.com"\npassword_env = "HOT_PASSWORD"\njwt_secret_env = "HOT_JWT"\n',
           vendor_calls("contacts", "companies"))


def atomic_postgres():
    """Atomic CRM over its postgres transport, in a throw-away database with the tests' schema
    and seed (backends/atomic/tests/sql), acting as the seeded user Bob with a token minted
    here; skipped when psql cannot reach CRMGATE_TEST_PG_ADMIN_URL. Returns whether it ran."""
    admin = os.environ.get("CRMGATE_TEST_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    sql = os.path.join(ROOT, "backends", "atomic", "tests", "sql")
    db = f"crmgate_hot_{os.getpid()}"
    psql = ["psql", "-w", "-X", "-q", "-v", "ON_ERROR_STOP=1"]
    if subprocess.run(psql + [admin, "-c", "select 1"], capture_output=True).returncode != 0:
        print("atomic (postgres): PostgreSQL not reachable, session skipped", file=sys.stderr)
        return False
    subprocess.run(psql + [admin, "-f", os.path.join(sql, "roles.sql"), "-c", f'create database "{db}"'],
                   check=True, capture_output=True)
    try:
        db_admin = admin.rsplit("/", 1)[0] + "/" + db
        for f in ("schema.sql", "seed.sql"):
            subprocess.run(psql + [db_admin, "-f", os.path.join(sql, f)], check=True, capture_output=True)
        secret, issuer, now = "hot-symbols-secret-0123456789abcdef", "http://hot.test/auth/v1", int(time.time())
        claims = {"iss": issuer, "sub": "22222222-2222-4222-8222-222222222222", "aud": "authenticated",
                  "exp": now + 3600, "iat": now, "email": "bob@example.com", "role": "authenticated"}
        b64 = lambda b: base64.urlsafe_b64encode(b).rstrip(b"=").decode()
        head = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode()) + "." + b64(json.dumps(claims).encode())
        token = head + "." + b64(hmac.new(secret.encode(), head.encode(), hashlib.sha256).digest())
        host = re.search(r"@([^/:]+)(?::(\d+))?/", admin)
        url = f"postgresql://authenticator:authenticator@{host.group(1)}:{host.group(2) or 5432}/{db}?sslmode=disable"
        config = os.path.join(TMP, "atomic-pg.toml")
        with open(config, "w") as f:
            f.write('[crm.atomic]\nkind = "atomic"\ntransport = "postgres"\ndatabase_url_env = "HOT_DB"\n'
                    f'access_token_env = "HOT_TOKEN"\njwt_secret_env = "HOT_JWT"\nissuer = "{issuer}"\n')
        env = dict(os.environ, HOT_DB=url, HOT_TOKEN=token, HOT_JWT=secret)
        calls = vendor_calls("contacts", "companies") + [
            ("crm_query", {"sql": "select stage, count(*) as n from deals group by stage"})]
        stdio("atomic-pg", ["--config", config, "serve"], calls * 2, env)
    finally:
        subprocess.run(psql + [admin, "-c", f'drop database if exists "{db}" with (force)'], capture_output=True)
    return True


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


def gray_rank(mask):
    """Position of `mask` in the reflected binary Gray code: consecutive masks differ in one
    session, so each session's functions form few runs (the top bit's one run)."""
    rank = 0
    while mask:
        rank ^= mask
        mask >>= 1
    return rank


def layout(sessions, sizes, stdio_sessions):
    """Order the functions by the set of sessions that run them (a bit mask), the masks in
    Gray-code order, the sessions' bits assigned so as to touch the fewest 64 KB windows
    (the kernel's fault-around unit) summed over the stdio sessions: every assignment is
    tried on the blocks' sizes."""
    masks = {}
    for bit, names in enumerate(sessions.values()):
        for n in names:
            masks[n] = masks.get(n, 0) | 1 << bit
    blocks = {}
    for n, m in masks.items():
        blocks.setdefault(m, []).append(n)
    block_size = {m: sum(sizes.get(n, 0) for n in ns) for m, ns in blocks.items()}
    count = len(sessions)
    watched = [bit for bit, name in enumerate(sessions) if name in stdio_sessions]

    def windows(perm):
        # perm[bit] = significance of session `bit` in the Gray code
        def key(m):
            return gray_rank(sum(1 << perm[b] for b in range(count) if m >> b & 1))
        order = sorted(blocks, key=key)
        touched, offset = [set() for _ in range(count)], 0
        for m in order:
            span = range(offset // 65536, (offset + block_size[m]) // 65536 + 1)
            for b in watched:
                if m >> b & 1:
                    touched[b].update(span)
            offset += block_size[m]
        return sum(len(t) for t in touched), order, [len(t) for t in touched]

    best = min((windows(perm) for perm in itertools.permutations(range(count))),
               key=lambda result: result[0])
    print("64 KB windows of hot code per session:",
          ", ".join(f"{name} {best[2][bit]}" for bit, name in enumerate(sessions)
                    if bit in watched), file=sys.stderr)
    return [n for m in best[1] for n in sorted(blocks[m])]


def one_build(binary):
    """This build's hot functions, laid out by which sessions run them (see `layout`)."""
    global BIN
    BIN = binary
    stdio("demo", ["serve"], demo_calls())
    config = os.path.join(TMP, "demo.toml")
    with open(config, "w") as f:
        f.write('[crm.demo]\nkind = "demo"\n')
    stdio("demo-config", ["--config", config, "serve"], demo_calls())
    bottle()
    espocrm()
    bitrix24()
    atomic()
    names = ["bottlecrm", "espocrm", "bitrix24", "atomic"]
    if atomic_postgres():
        names.append("atomic-pg")
    hosted()
    sizes = {}
    for line in subprocess.run(["nm", "--defined-only", "-S", BIN], capture_output=True,
                               text=True).stdout.splitlines():
        fields = line.split()
        if len(fields) == 4:
            sizes[fields[3]] = int(fields[1], 16)
    sessions = {"demo": (executed(f"{TMP}/demo.out") | executed(f"{TMP}/demo-config.out"))}
    sessions.update((name, executed(f"{TMP}/{name}.out")) for name in names + ["hosted"])
    sessions = {name: ran & sizes.keys() for name, ran in sessions.items()}
    return layout(sessions, sizes, stdio_sessions=["demo"] + names)


def main():
    names, seen = [], set()
    for binary in BINS:
        for name in one_build(binary):
            if name not in seen:
                seen.add(name)
                names.append(name)
    if KEEP and os.path.exists(OUT):
        for name in open(OUT).read().split():
            if name not in seen:
                seen.add(name)
                names.append(name)
    with open(OUT, "w") as f:
        f.write("".join(f"{n}\n" for n in names))
    print(f"{len(names)} hot functions of {len(BINS)} build(s) written to {OUT}")


if __name__ == "__main__":
    main()

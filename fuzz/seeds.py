#!/usr/bin/env python3
"""Write the seed corpus of every fuzz target to fuzz/corpus/<target>/.

Deterministic: running it again gives the same bytes. Seeds are real inputs of each parser,
taken from the repository's own examples and the shapes ship writes (deploy.toml from
README.md, docs and the template; agent protocol lines; journal records; artifact tars with
the manifest first, as src/artifact/pack.rs writes them). Run from anywhere:

    python3 fuzz/seeds.py
"""

import hashlib
import io
import json
import re
import tarfile
from pathlib import Path

FUZZ = Path(__file__).resolve().parent
ROOT = FUZZ.parent
CORPUS = FUZZ / "corpus"

SHA_A = "ab" * 32
SHA_B = hashlib.sha256(b"release b").hexdigest()
SHA_C = hashlib.sha256(b"release c").hexdigest()
COMMIT = "0123456789abcdef0123456789abcdef01234567"
HOLDER = {"user": "deploy", "host": "ci-1", "pid": 4242, "command": "ship deploy prod", "since": "2026-11-23T10:00:00.000Z"}


def write(target, name, data):
    d = CORPUS / target
    d.mkdir(parents=True, exist_ok=True)
    (d / name).write_bytes(data if isinstance(data, bytes) else data.encode())


def lines(*messages):
    return "".join(json.dumps(m, separators=(",", ":")) + "\n" for m in messages)


# ---- config: deploy.toml ----------------------------------------------------------------

def config_seeds():
    write("config", "repo-deploy.toml", (ROOT / "deploy.toml").read_text())
    write("config", "template.toml", (ROOT / "src/config/template.toml").read_text().replace("{{app}}", "hello"))
    blocks = re.findall(r"```toml\n(.*?)```", (ROOT / "README.md").read_text(), re.S)
    full = [b for b in blocks if "[app]" in b]
    if full:
        write("config", "readme-full.toml", full[0])
    write("config", "everything.toml", """\
[app]
name = "shop.web_2"

[build]
command = "make dist"
include = ["dist/**", "bin/*", "{a,b}/[!x]?.css"]
exclude = ["**/*.map"]

[release]
keep = 7
shared = ["log", "config/app.env"]

[health]
http = "http://{host}:8080/health"
command = "./bin/healthy"
timeout = "1h30m"
interval = "500ms"

[[step]]
name = "migrate"
run = "./bin/migrate"
when = "before_switch"
on = "first"
unless = "test -f .migrated"
timeout = "5m"

[[step]]
name = "warm"
run = 'curl -fsS "http://localhost:8080/"'
when = "after_switch"
on = "each"

[[step]]
name = "page"
run = "./notify rollback"
when = "after_rollback"
on = "local"

[ssh]
config = "ssh_config"
identity_file = "~/.ssh/deploy_ed25519"
options = ["ConnectTimeout=10", "ProxyJump=bastion"]
agent_path = "/usr/local/bin/ship"

[notify]
webhook = "https://hooks.example.com/deploys?token=x"

[env.staging]
targets = ["local:/srv/shop-staging", "/srv/shop-staging-2"]

[env.prod]
targets = ["ssh://deploy@web1.example.com/srv/shop", "ssh://web2:2222/srv/shop", "ssh://[::1]:22/srv/x"]
parallel = 2
canary = 1
max_failures = 1
requires = "staging"
confirm = true
vars = { APP_ENV = "production", _X1 = "multi\\nline" }
secrets = ["API_TOKEN"]
health = { http = "https://{host}/up", timeout = "10s" }
notify = { webhook = "http://127.0.0.1:9/hook" }
""")
    # Mistakes, each reported at its place: the diagnostics path (snippet, caret, did-you-mean).
    write("config", "typo-key.toml", '[app]\nname = "hello"\n\n[build]\ncomand = "make dist"\n')
    write("config", "bad-target-utf8.toml",
          '# d\u00e9ploiement \u2014 \u00e9t\u00e9\n[app]\nname = "hello"\n\n[env.prod]\n'
          'targets = ["local:/srv/\u00e9t\u00e9", "ssh://w\u00e9b/\u00e9/../srv", "ftp://x/y"]\n')
    write("config", "dup-step-crlf.toml",
          '[app]\r\nname = "x"\r\n[[step]]\r\nname = "a"\r\nrun = "true"\r\n[[step]]\r\nname = " a "\r\nrun = "true"\r\n'
          '[env.e]\r\ntargets = ["/srv/x"]\r\nrequires = "f"\r\ncanary = 3\r\n')
    write("config", "bad-values.toml", """\
[app]
name = "ok"
[release]
shared = ["../etc", "a/./b"]
[health]
http = "ftp://{host}/x"
timeout = "0s"
[env."a b"]
targets = []
parallel = 0
vars = { "1X" = "y" }
secrets = ["A-B"]
[ssh]
options = ["-oProxyCommand=evil"]
agent_path = "relative/ship"
""")


# ---- protocol: agent protocol lines ------------------------------------------------------

def protocol_seeds():
    call = lambda req: {"call": {"request": req}}
    rec = lambda event, **kw: dict({"at": "2026-11-23T10:00:01.000Z", "run": "0f1e2d3c4b5a6978", "kind": "deploy",
                                     "event": event, "release": SHA_A[:12], "version": "v1.2.0", "commit": COMMIT,
                                     "sha256": SHA_A, "user": "deploy"}, **kw)
    write("protocol", "session-deploy.jsonl", lines(
        call({"op": "lock", "holder": HOLDER, "state": True}),
        call({"op": "check"}),
        call({"op": "state"}),
        call({"op": "stage", "sha256": SHA_A, "shared": ["log", "config/app.env"], "source": {"from": "upload", "size": 10},
              "before": [rec("begin", **{"from": SHA_B[:12]})], "after": []}),
    ) + "0123456789" + lines(
        call({"op": "run_step", "step": {"name": "migrate", "run": "./bin/migrate", "unless": "test -f .m",
                                         "release": SHA_A[:12], "env": [["SHIP_ENV", "prod"], ["A", "x\ny"]],
                                         "timeout_ms": 300000}}),
        call({"op": "switch", "release": SHA_A[:12], "before": [rec("staged")],
              "after": [rec("switched", **{"from": SHA_B[:12]}), rec("live")]}),
        call({"op": "would_skip", "unless": "test -f x", "release": SHA_A[:12], "env": []}),
        call({"op": "record", "records": [rec("live", **{"from": SHA_B[:12]})]}),
        call({"op": "stage", "sha256": SHA_A, "shared": [], "source": {"from": "fetch", "url":
              "https://bucket.s3.amazonaws.com/app/artifacts/" + SHA_A + ".tar.zst?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Expires=1800"}}),
        call({"op": "repair", "sha256": SHA_A, "shared": ["log"], "source": {"from": "here"}, "after": [rec("repaired")]}),
        call({"op": "lacks", "size": 0, "verify": True}),
        call({"op": "stage", "sha256": SHA_B, "shared": [], "writable": ["config/*.php"],
              "source": {"from": "delta", "size": 0, "manifest": SHA_C}}),
        call({"op": "prune", "keep": 5, "dry_run": True}),
        call({"op": "finish", "journal": [rec("failed", message="step `migrate` failed (exit 1)")], "prune": 5,
              "end": rec("end", outcome="succeeded", fleet_outcome="succeeded", duration_ms=1234)}),
        call({"op": "unlock"}),
    ))
    write("protocol", "session-admin.jsonl", lines(
        call({"op": "hold", "holder": dict(HOLDER, reason="db maintenance \u2013 ask ops")}),
        call({"op": "release_hold"}),
        call({"op": "unswitch", "after": [{"at": "2026-11-23T10:00:00.000Z", "run": "r1", "kind": "deploy",
                                            "event": "restored", "from": SHA_A[:12]}]}),
        call({"op": "verify", "shared": ["log"]}),
        call({"op": "journal"}),
        call({"op": "exec", "exec": {"argv": ["sh", "-c", "echo \"$SHIP_ENV\""], "release": SHA_A[:12],
                                     "env": [["SHIP_ENV", "prod"], ["API_TOKEN", "s3cr3t"]]}}),
        call({"op": "exec", "exec": {"argv": ["printf", "%s\\n", "two words", "$HOME"], "release": SHA_A[:12], "env": []}}),
    ))
    write("protocol", "agent-replies.jsonl", lines(
        {"hello": {"protocol": 6, "version": "0.1.0"}},
        {"line": {"line": "migrating \u2026 done"}},
        {"reply": {"reply": {"reply": "done"}}},
        {"reply": {"reply": {"reply": "locked", "holder": HOLDER}}},
        {"reply": {"reply": {"reply": "released", "holder": None}}},
        {"reply": {"reply": {"reply": "check", "check": {"writable": True, "free_bytes": 123456789, "version": "0.1.0",
                                                         "locked": False, "holder": None, "error": None}}}},
        {"reply": {"reply": {"reply": "bool", "value": True}}},
        {"reply": {"reply": {"reply": "staged", "release": SHA_A[:12], "reused": False}}},
        {"reply": {"reply": {"reply": "lacks", "missing": [0, 3]}}},
        {"reply": {"reply": {"reply": "switched", "before": SHA_B[:12]}}},
        {"reply": {"reply": {"reply": "step", "result": {"skipped": False, "ended": {"exited": 0}, "duration_ms": 12}}}},
        {"reply": {"reply": {"reply": "step", "result": {"skipped": False, "ended": "timed_out", "duration_ms": 9}}}},
        {"reply": {"reply": {"reply": "pruned", "pruning": {
            "releases": [{"release": SHA_C[:12], "version": "v1.0.0", "commit": COMMIT, "deployed_at": "2026-11-23T10:00:00Z",
                          "failed_at": None, "action": "remove", "why": "beyond_keep", "bytes": 4096},
                         {"release": SHA_B[:12], "version": None, "commit": None, "deployed_at": None,
                          "failed_at": "2026-11-30T10:00:00Z", "action": "keep", "why": "recent_failure", "bytes": None}],
            "artifacts": [{"file": ".ship/artifacts/" + SHA_C + ".tar.zst", "bytes": 2048}],
            "agents": [{"file": ".ship/bin/ship-" + SHA_A, "bytes": 9000000}],
            "bytes": 9006144, "holder": HOLDER}}}},
        {"reply": {"reply": {"reply": "problems", "problems": ["index.html changed"]}}},
        {"reply": {"reply": {"reply": "finished", "pruning": None, "problems": ["pruning failed: Permission denied"]}}},
        {"reply": {"reply": {"reply": "exec", "result": {"ended": {"exited": 7}, "duration_ms": 31}}}},
        {"reply": {"reply": {"reply": "exec", "result": {"ended": {"exited": None}, "signal": 9, "duration_ms": 5}}}},
        {"error": {"message": "target is locked by deploy@ci-1"}},
    ))
    rel = lambda r, live: {"release": r, "version": "v1", "commit": COMMIT, "sha256": SHA_A, "deployed_at": "2026-11-23T10:00:00Z",
                           "deployed_by": "deploy", "went_live": live, "failed_at": None, "failure": None}
    write("protocol", "agent-state.jsonl", lines(
        {"reply": {"reply": {"reply": "state", "state": {
            "current": rel(SHA_A[:12], True), "confirmed": True, "previous": rel(SHA_B[:12], True),
            "releases": [rel(SHA_A[:12], True), rel(SHA_B[:12], True)], "locked": True, "holder": HOLDER,
            "last_failure": None}}}},
        {"reply": {"reply": {"reply": "journal", "records": [
            {"at": "2026-11-23T10:00:00.000Z", "run": "r1", "kind": "rollback", "event": "restored", "release": SHA_B[:12]}]}}},
    ))
    # Refused lines: a forged release id, a bad digest, an oversized artifact, garbage, a torn line.
    write("protocol", "hostile.jsonl", lines(
        call({"op": "switch", "release": "../../../../"}),
        call({"op": "stage", "sha256": SHA_A.upper(), "shared": [], "source": {"from": "upload", "size": 10}}),
        call({"op": "stage", "sha256": SHA_A, "shared": [], "source": {"from": "upload", "size": 68719476737}}),
        call({"op": "stage", "sha256": SHA_A, "shared": [], "source": {"from": "fetch", "url": "file:///etc/shadow"}}),
        call({"op": "switch", "release": SHA_A[:12], "before": [{"at": "x", "run": "r", "kind": "deploy", "event": "begin",
                                                                 "release": "../../etc"}]}),
        call({"op": "stage", "sha256": SHA_A, "shared": ["/etc", "a/../../b"]}),
        call({"op": "lacks", "size": 68719476737}),
        call({"op": "stage", "sha256": SHA_A, "shared": [], "writable": ["a[b"],
              "source": {"from": "delta", "size": 1, "manifest": SHA_C}}),
        call({"op": "stage", "sha256": SHA_A, "shared": [], "source": {"from": "delta", "size": 1, "manifest": "../x"}}),
        call({"op": "run_step", "step": {"name": "x", "run": "a\u0000b", "unless": None, "release": SHA_A[:12],
                                         "env": [["A=B", "x"]], "timeout_ms": None}}),
        call({"op": "exec", "exec": {"argv": [], "release": SHA_A[:12], "env": []}}),
        call({"op": "exec", "exec": {"argv": ["a\u0000b"], "release": SHA_A[:12], "env": []}}),
        call({"op": "exec", "exec": {"argv": ["true"], "release": "../../etc", "env": []}}),
        call({"op": "exec", "exec": {"argv": ["true"], "release": SHA_A[:12], "env": [["A=B", "x"]]}}),
    ) + "GET / HTTP/1.1\n{\"call\":{\"request\":{\"op\":\"lock\"")


# ---- journal: .ship/journal.jsonl --------------------------------------------------------

def record(event, release, kind="deploy", run="0f1e2d3c4b5a6978", at="2026-11-23T10:00:00.000Z", **more):
    r = {"at": at, "run": run, "kind": kind, "event": event}
    if release is not None:
        r["release"] = release
    r.update(more)
    return r


def journal_seeds():
    a, b, c = SHA_A[:12], SHA_B[:12], SHA_C[:12]
    head = lambda rel, sha, v: dict(version=v, commit=COMMIT, sha256=sha, user="deploy")
    deploy = lambda run, rel, sha, v, frm=None: [
        record("begin", rel, run=run, **head(rel, sha, v), **({"from": frm} if frm else {})),
        record("staged", rel, run=run, **head(rel, sha, v)),
        record("switched", rel, run=run, **head(rel, sha, v), **({"from": frm} if frm else {})),
        record("live", rel, run=run, **head(rel, sha, v)),
        record("end", rel, run=run, outcome="succeeded", fleet_outcome="succeeded", duration_ms=1834, **head(rel, sha, v)),
    ]
    write("journal", "three-deploys.jsonl", lines(*deploy("r1", a, SHA_A, "v1.0.0"), *deploy("r2", b, SHA_B, "v1.1.0", a),
                                                  *deploy("r3", c, SHA_C, "v1.2.0", b)))
    write("journal", "failed-then-rollback.jsonl", lines(
        *deploy("r1", a, SHA_A, "v1.0.0"),
        record("begin", b, run="r2", **head(b, SHA_B, "v2")),
        record("switched", b, run="r2", **head(b, SHA_B, "v2")),
        record("failed", b, run="r2", message="health check failed: 502 Bad Gateway"),
        record("restored", a, kind="rollback", run="r2", **{"from": b}),
        record("end", a, run="r2", outcome="rolled_back", fleet_outcome="rolled_back"),
        record("begin", None, kind="rollback", run="r3"),
        record("restored", c, kind="rollback", run="r3"),
    ))
    # A torn last line (a crash mid-write), a line that is not UTF-8, a blank line, CRLF.
    torn = lines(*deploy("r1", a, SHA_A, "v1")) + "\n" + lines(record("live", b)).replace("\n", "\r\n")
    write("journal", "torn.jsonl", torn.encode() + b"\xff\xfe{\"at\"\n" + lines(record("live", c)).encode()[:40])


# ---- unpack: artifact tars ---------------------------------------------------------------

def tar_bytes(entries):
    """entries: (name, kind, payload) with kind 'file', 'exe', 'dir', 'sym', 'hard'."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT) as t:
        for name, kind, payload in entries:
            info = tarfile.TarInfo(name)
            info.mtime = 1763892000
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            if kind in ("file", "exe"):
                info.mode = 0o755 if kind == "exe" else 0o644
                info.size = len(payload)
                t.addfile(info, io.BytesIO(payload))
            elif kind == "dir":
                info.type, info.mode = tarfile.DIRTYPE, 0o755
                t.addfile(info)
            else:
                info.type = tarfile.SYMTYPE if kind == "sym" else tarfile.LNKTYPE
                info.mode, info.linkname = 0o777, payload
                t.addfile(info)
    data = buf.getvalue()
    # Drop the padding to tar's 10 KiB record: keep the entries and one end-of-archive block.
    end = len(data.rstrip(b"\0"))
    end = -(-end // 512) * 512
    return data[:end] + b"\0" * 512


def manifest(files, commit=COMMIT):
    out = []
    for path, kind, payload in files:
        if kind == "dir":
            continue
        if kind == "sym":
            out.append({"path": path, "mode": 0o777, "size": 0,
                        "sha256": hashlib.sha256(payload.encode()).hexdigest(), "link": payload})
        else:
            out.append({"path": path, "mode": 0o755 if kind == "exe" else 0o644, "size": len(payload),
                        "sha256": hashlib.sha256(payload).hexdigest()})
    body = json.dumps({"format": 1, "commit": commit, "files": out}, separators=(",", ":")).encode()
    return (".ship-manifest.json", "file", body)


def artifact(files):
    return tar_bytes([manifest(files)] + files)


def unpack_seeds():
    site = [
        ("index.html", "file", b"hello"),
        ("link", "sym", "index.html"),
    ]
    write("unpack", "artifact-basic.tar", artifact(site))
    app = [
        ("bin", "dir", None),
        ("bin/run", "exe", b"#!/bin/sh\necho hi\n"),
        ("site", "dir", None),
        ("site/css", "dir", None),
        ("site/css/style.css", "file", b"body{}"),
        ("site/index.html", "file", b"<h1>hi</h1>"),
        ("run", "sym", "bin/run"),
        ("site/style.css", "sym", "css/style.css"),
        ("site/up", "sym", "../bin"),
    ]
    write("unpack", "artifact-tree.tar", artifact(app))
    # A chain of links, each fine on paper: link1 -> link2 -> a/b/target.
    chain = [
        ("a", "dir", None),
        ("a/b", "dir", None),
        ("a/b/target", "file", b"x"),
        ("link2", "sym", "a/b/target"),
        ("link1", "sym", "link2"),
        ("a/b/back", "sym", "../../link1"),
    ]
    write("unpack", "symlink-chain-ok.tar", artifact(chain))
    # A chain that leads out only when followed for real (must be refused).
    escape = [
        ("a/b/c/d/up", "sym", "../../../.."),
        ("esc", "sym", "a/b/c/d/up/../../../.."),
    ]
    write("unpack", "symlink-chain-escape.tar", artifact(escape))
    # Writes through a planted link, a hard link, and a GNU long name.
    write("unpack", "through-link.tar", tar_bytes([("sub", "sym", "."), ("sub/x", "file", b"hi")]))
    long_name = "d/" + "n" * 120
    write("unpack", "hardlink-longname.tar",
          tar_bytes([(long_name, "file", b"long"), ("hard", "hard", long_name), ("d/../../evil", "file", b"!")]))


def main():
    # Seeds are overwritten, never cleared: the corpus also holds seeds written by hand
    # (links/) and inputs the fuzzers found (unpack/mtime-overflow.tar).
    config_seeds()
    protocol_seeds()
    journal_seeds()
    unpack_seeds()
    total = sum(f.stat().st_size for f in CORPUS.rglob("*") if f.is_file())
    count = sum(1 for f in CORPUS.rglob("*") if f.is_file())
    print(f"{count} seeds, {total} bytes in {CORPUS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()

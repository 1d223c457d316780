#!/usr/bin/python3
"""`cachewire up` and the client commands, end to end.

Starts `cachewire up deploy/local.yaml` (two workers and a router as child processes) with a
private XDG_RUNTIME_DIR, then drives it with `cachewire agents`, `chat -m`, `stats`,
`stats --session`, `handoff` (no --router/--token: they read the endpoint file `up` wrote), stops
it with SIGTERM and checks that everything exited and the endpoint file is gone. Then runs
`cachewire up --demo`. Usage: cli_up_test.py BINARY_DIR SOURCE_DIR.
"""
import json
import os
import re
import signal
import stat
import subprocess
import sys
import tempfile
import time


def fail(message):
    print("FAIL: " + message)
    sys.exit(1)


def run(cli, env, *args, check=True):
    result = subprocess.run([cli, *args], env=env, capture_output=True, text=True, timeout=60)
    if check and result.returncode != 0:
        fail("cachewire %s exited %d: %s%s" % (" ".join(args), result.returncode, result.stdout,
                                                result.stderr))
    return result


def main():
    binary_dir, source_dir = sys.argv[1:3]
    cli = os.path.join(binary_dir, "bin", "cachewire")
    config = os.path.join(source_dir, "deploy", "local.yaml")
    with tempfile.TemporaryDirectory() as runtime:
        env = dict(os.environ, XDG_RUNTIME_DIR=runtime)
        endpoint = os.path.join(runtime, "cachewire", "local.json")
        up = subprocess.Popen([cli, "up", config, "--quiet"], env=env, stdout=subprocess.PIPE,
                              text=True)
        try:
            lines = []
            deadline = time.time() + 60
            while time.time() < deadline:
                line = up.stdout.readline()
                if not line:
                    fail("`cachewire up` ended early: %r" % lines)
                lines.append(line)
                if line.startswith("ready:"):
                    break
            if not any(l.startswith("router grpc=") for l in lines):
                fail("no router line in %r" % lines)
            mode = stat.S_IMODE(os.stat(endpoint).st_mode)
            if mode != 0o600:
                fail("endpoint file mode %o, not 600" % mode)
            with open(endpoint) as f:
                published = json.load(f)
            if len(published["token"]) != 32:
                fail("token %r is not 32 hex characters" % published["token"])

            agents = run(cli, env, "agents").stdout
            for agent in ("planner", "coder"):
                if not re.search(r"^%s\s+serving" % agent, agents, re.M):
                    fail("agent %s not serving in:\n%s" % (agent, agents))
            chat = run(cli, env, "chat", "planner", "-m", "The code is 4 1 9 3 .", "-n", "4",
                       "--seed", "1", "--raw")
            sharer = re.search(r"session: (s-[0-9a-f]{32})", chat.stderr)
            if not sharer:
                fail("no session id from chat: %r" % chat.stderr)
            receiver = re.search(r"session: (s-[0-9a-f]{32})", run(
                cli, env, "chat", "coder", "-m", "Hello.", "-n", "2", "--raw").stderr)
            moved = run(cli, env, "handoff", sharer.group(1), receiver.group(1), "--mode",
                        "text_context").stdout
            if not re.search(r"bytes moved: [1-9]", moved) or "latency ms: export" not in moved:
                fail("handoff output: %r" % moved)
            session = run(cli, env, "stats", "--session", receiver.group(1)).stdout
            if "on agent coder" not in session:
                fail("stats --session output: %r" % session)
            stats = run(cli, env, "stats").stdout
            if not re.search(r"^planner\s+serving\s+1\s+1", stats, re.M):
                fail("stats output: %r" % stats)
            # deploy/local.yaml configures the LCF adapters (per-token: one slot of 64 f16 values
            # per sharer token sent, at most 128) and the C2C fusers; a fusion needs both
            # sessions to hold the same text, which these do not.
            lcf = run(cli, env, "handoff", sharer.group(1), receiver.group(1), "--mode", "lcf")
            slots = re.search(r"^slots: (\d+)$", lcf.stdout, re.M)
            if not slots or not 1 <= int(slots.group(1)) <= 128 or \
                    f"bytes moved: {int(slots.group(1)) * 64 * 2}\n" not in lcf.stdout:
                fail("LCF handoff output: %r" % lcf.stdout)
            refused = run(cli, env, "handoff", sharer.group(1), receiver.group(1), "--mode", "c2c",
                          check=False)
            if refused.returncode == 0 or "FAILED_PRECONDITION" not in refused.stderr \
                    or "same text" not in refused.stderr:
                fail("C2C handoff between different texts: %r" % refused.stderr)
            wrong = run(cli, env, "agents", "--token", "not-the-token", "--router",
                        published["router"], check=False)
            if wrong.returncode == 0 or "UNAUTHENTICATED" not in wrong.stderr:
                fail("a wrong token was not refused: %r" % wrong.stderr)
        finally:
            up.send_signal(signal.SIGTERM)
            try:
                code = up.wait(timeout=30)
            except subprocess.TimeoutExpired:
                up.kill()
                fail("`cachewire up` did not stop on SIGTERM")
        if code != 0:
            fail("`cachewire up` exited %d after SIGTERM" % code)
        if os.path.exists(endpoint):
            fail("the endpoint file outlived `cachewire up`")

        demo = subprocess.run([cli, "up", config, "--demo", "--quiet"], env=env,
                              capture_output=True, text=True, timeout=120)
        modes_seen = all(re.search(r"^demo: %s\s+coder answers" % m, demo.stdout, re.M)
                         for m in ("NONE", "TEXT_CONTEXT", "C2C", "LCF", "TEXT_SUMMARY"))
        if demo.returncode != 0 or not modes_seen:
            fail("up --demo: %d %s %s" % (demo.returncode, demo.stdout, demo.stderr))
    print("PASS")


if __name__ == "__main__":
    main()

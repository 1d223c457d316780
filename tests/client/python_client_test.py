#!/usr/bin/python3
"""Runs client/python/cachewire_client.py against a live router (one real worker behind it).

Usage: python_client_test.py BINARY_DIR SOURCE_DIR STUB_DIR. Exits 77 (ctest: skipped) with a
message when python3-grpcio or the generated stubs are missing.
"""
import os
import subprocess
import sys
import tempfile


def start(args):
    process = subprocess.Popen(args, stdout=subprocess.PIPE, text=True)
    line = process.stdout.readline()
    if not line.startswith("listening "):
        process.kill()
        raise RuntimeError("%s did not start: %r" % (args[0], line))
    return process, line.split("grpc=")[1].split()[0]


def main():
    binary_dir, source_dir, stub_dir = sys.argv[1:4]
    try:
        import grpc  # noqa: F401
    except ImportError:
        print("SKIP: python3-grpcio is not installed")
        return 77
    if not os.path.exists(os.path.join(stub_dir, "cachewire", "v1", "router_pb2_grpc.py")):
        print("SKIP: no generated Python stubs in %s (grpc_python_plugin missing?)" % stub_dir)
        return 77
    model = os.path.join(source_dir, "tests/engine/model/golden/tiny-llama-gqa2-q8_0.gguf")
    token = "python-client-test-token"
    processes = []
    with tempfile.TemporaryDirectory() as tmp:
        try:
            worker, worker_address = start([
                os.path.join(binary_dir, "bin", "cachewire-worker"), "--model", model,
                "--listen", "127.0.0.1:0", "--threads", "1", "--log-level", "warn"])
            processes.append(worker)
            config = os.path.join(tmp, "router.yaml")
            with open(config, "w") as f:
                f.write("agents:\n  - name: a\n    worker: %s\n  - name: b\n    worker: %s\n"
                        % (worker_address, worker_address))
            tokens = os.path.join(tmp, "tokens")
            with open(tokens, "w") as f:
                f.write(token + "\n")
            router, router_address = start([
                os.path.join(binary_dir, "bin", "cachewire-router"), "--config", config,
                "--token-file", tokens, "--listen", "127.0.0.1:0", "--log-level", "warn"])
            processes.append(router)
            result = subprocess.run(
                [sys.executable, os.path.join(source_dir, "client/python/cachewire_client.py"),
                 "--router", router_address, "--token", token, "--stubs", stub_dir],
                capture_output=True, text=True, timeout=60)
            print(result.stdout, end="")
            print(result.stderr, end="", file=sys.stderr)
            if result.returncode != 0:
                print("FAIL: the client exited with %d" % result.returncode)
                return 1
            for expected in ("agent a: AGENT_HEALTH_SERVING", "handoff TEXT_CONTEXT:",
                             "receiver has the fact: True"):
                if expected not in result.stdout:
                    print("FAIL: %r missing from the client's output" % expected)
                    return 1
            print("PASS")
            return 0
        finally:
            for process in reversed(processes):
                process.terminate()
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    process.kill()


if __name__ == "__main__":
    sys.exit(main())

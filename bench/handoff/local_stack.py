"""A throw-away `cachewire up` for benchmarks: the two shipped agents and every adapter found in
models/adapters/, on free loopback ports, with its endpoint file in a private directory (a user's
own `cachewire up` is left alone). Stopped (SIGTERM, then drained) on exit.

    with LocalStack(root, build_dir) as s:
        sid = s.call("CreateSession", s.pb.CreateSessionRequest(agent="planner")).session_id
"""
from __future__ import annotations

import glob
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import types

AGENT_OF_MODEL = {"cw-llama": "planner", "cw-gemma3": "coder"}


class LocalStack:
    def __init__(self, root: str, build: str, timeout_s: float = 120.0):
        self.root, self.build, self.timeout_s = root, build, timeout_s
        self.adapters: list[str] = []

    def _config(self, tmp: str) -> str:
        lines = ["router:", "  listen: 127.0.0.1:0", "  metrics: 127.0.0.1:0", "agents:"]
        for model, agent in AGENT_OF_MODEL.items():
            lines += [f"  - name: {agent}", f"    model: {self.root}/models/{model}.gguf",
                      "    worker: 127.0.0.1:0", "    threads: 1"]
        entries = []
        for path in sorted(glob.glob(os.path.join(self.root, "models", "adapters", "*.gguf"))):
            name, kind = os.path.basename(path).split(".")[:2]
            sharer, receiver = name.split("--")
            if sharer in AGENT_OF_MODEL and receiver in AGENT_OF_MODEL and kind in ("lcf", "c2c"):
                entries += [f"  - sharer: {AGENT_OF_MODEL[sharer]}", f"    receiver: {AGENT_OF_MODEL[receiver]}",
                            f"    kind: {kind}", f"    file: {path}"]
                self.adapters.append(os.path.basename(path))
        lines += ["adapters:"] + entries if entries else ["adapters: []"]
        path = os.path.join(tmp, "bench.yaml")
        with open(path, "w") as f:
            f.write("\n".join(lines) + "\n")
        return path

    def __enter__(self) -> "LocalStack":
        sys.path.insert(0, os.path.join(self.build, "client", "python", "gen"))
        import grpc
        from cachewire.v1 import common_pb2, router_pb2, router_pb2_grpc, worker_pb2
        self.grpc = grpc
        self.pb = types.SimpleNamespace()
        for mod in (common_pb2, worker_pb2, router_pb2):
            for name in dir(mod):
                if not name.startswith("_"):
                    setattr(self.pb, name, getattr(mod, name))
        self.tmp = tempfile.mkdtemp(prefix="cachewire-bench-")
        env = dict(os.environ, XDG_RUNTIME_DIR=self.tmp)
        self.proc = subprocess.Popen([os.path.join(self.build, "bin", "cachewire"), "up", self._config(self.tmp),
                                      "--quiet"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     text=True)
        endpoint_file = os.path.join(self.tmp, "cachewire", "local.json")
        deadline = time.time() + self.timeout_s
        while not os.path.exists(endpoint_file):
            if self.proc.poll() is not None or time.time() > deadline:
                out = self.proc.stdout.read() if self.proc.poll() is not None else ""
                self.__exit__(None, None, None)
                raise RuntimeError(f"cachewire up did not start:\n{out}")
            time.sleep(0.2)
        time.sleep(0.5)
        with open(endpoint_file) as f:
            ep = json.load(f)
        self.metadata = [("authorization", "Bearer " + ep["token"])]
        self.channel = grpc.insecure_channel(ep["router"])
        self.stub = router_pb2_grpc.RouterStub(self.channel)
        # Wait until both agents answer (the router reports worker health).
        while True:
            try:
                agents = self.stub.ListAgents(self.pb.ListAgentsRequest(), metadata=self.metadata, timeout=5)
                if all(self.pb.AgentHealth.Name(a.health).endswith("SERVING") for a in agents.agents):
                    break
            except grpc.RpcError:
                pass
            if time.time() > deadline:
                raise RuntimeError("cachewire up: agents not serving")
            time.sleep(0.3)
        return self

    def call(self, method: str, request, timeout: float = 300.0):
        return getattr(self.stub, method)(request, metadata=self.metadata, timeout=timeout)

    def stream(self, method: str, request, timeout: float = 300.0):
        return getattr(self.stub, method)(request, metadata=self.metadata, timeout=timeout)

    def __exit__(self, *exc) -> None:
        if getattr(self, "proc", None) and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()

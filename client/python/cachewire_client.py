#!/usr/bin/python3
"""Example client of cachewire's public Router service, in Python with grpcio.

Lists the agents, opens a session on two of them, gives the first some context, streams a
reply, hands the first session's text to the second (TEXT_CONTEXT) and shows what arrived.

    /usr/bin/python3 client/python/cachewire_client.py                # the `cachewire up` router
    /usr/bin/python3 client/python/cachewire_client.py --router 127.0.0.1:7070 --token T

The stubs are generated at build time into BUILD/client/python/gen (the build prints the path;
--stubs or CACHEWIRE_PY_STUBS points here when it is elsewhere). Without --router/--token the
client reads the endpoint file `cachewire up` writes ($XDG_RUNTIME_DIR/cachewire/local.json or
~/.cache/cachewire/local.json).
"""
import argparse
import json
import os
import sys


def default_stub_dir():
    here = os.path.dirname(os.path.abspath(__file__))
    return os.path.join(here, "..", "..", "build", "client", "python", "gen")


def local_endpoint():
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    base = os.path.join(runtime, "cachewire") if runtime else os.path.join(
        os.path.expanduser("~"), ".cache", "cachewire")
    with open(os.path.join(base, "local.json")) as f:
        return json.load(f)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--router", help="router host:port (default: cachewire up's)")
    parser.add_argument("--token", help="bearer token (default: cachewire up's)")
    parser.add_argument("--stubs", default=os.environ.get("CACHEWIRE_PY_STUBS", default_stub_dir()),
                        help="directory holding cachewire/v1/*_pb2*.py")
    parser.add_argument("--max-tokens", type=int, default=16)
    args = parser.parse_args()

    sys.path.insert(0, os.path.abspath(args.stubs))
    import grpc
    from cachewire.v1 import common_pb2, router_pb2, router_pb2_grpc, worker_pb2

    if not args.router or not args.token:
        endpoint = local_endpoint()
        args.router = args.router or endpoint["router"]
        args.token = args.token or endpoint["token"]
    metadata = [("authorization", "Bearer " + args.token)]
    channel = grpc.insecure_channel(args.router)
    router = router_pb2_grpc.RouterStub(channel)

    agents = router.ListAgents(router_pb2.ListAgentsRequest(), metadata=metadata, timeout=10)
    for agent in agents.agents:
        print("agent %s: %s, %s (%s)" % (agent.name, router_pb2.AgentHealth.Name(agent.health),
                                         agent.worker.architecture, agent.worker.model_name))
    sharer_agent = agents.agents[0].name
    receiver_agent = agents.agents[-1].name

    def create(agent):
        return router.CreateSession(router_pb2.CreateSessionRequest(agent=agent),
                                    metadata=metadata, timeout=10).session_id

    sharer, receiver = create(sharer_agent), create(receiver_agent)
    fact = "The launch code of project Heron is 4 1 9 3 ."
    appended = router.Append(worker_pb2.AppendRequest(session_id=sharer, text=fact),
                             metadata=metadata, timeout=10)
    print("appended %d tokens to %s" % (appended.n_tokens_added, sharer_agent))

    request = worker_pb2.GenerateRequest(session_id=sharer, text=" Again:")
    request.sampling.max_tokens = args.max_tokens
    request.sampling.seed = 42
    pieces, n_tokens, stop = [], 0, None
    for message in router.Generate(request, metadata=metadata, timeout=30):
        if message.HasField("tokens"):
            n_tokens += len(message.tokens.token_ids)
            pieces.append(message.tokens.text)
        else:
            stop = message.summary.stop_reason
    print("generated %d tokens (%s): %r" % (n_tokens, common_pb2.StopReason.Name(stop) if stop
                                            is not None else "?", "".join(pieces)))

    moved = router.Handoff(router_pb2.HandoffRequest(
        from_session_id=sharer, to_session_id=receiver,
        mode=router_pb2.HANDOFF_MODE_TEXT_CONTEXT), metadata=metadata, timeout=30)
    print("handoff TEXT_CONTEXT: %d bytes, %d tokens, export %.2f ms, transfer %.2f ms, "
          "import %.2f ms" % (moved.bytes_moved, moved.receiver_tokens_added, moved.export_ms,
                              moved.transfer_ms, moved.import_ms))

    session = router.GetSession(router_pb2.GetSessionRequest(
        session_id=receiver, include_transcript=True), metadata=metadata, timeout=10)
    print("receiver has the fact: %s" % (fact in session.transcript))
    print("receiver cache: %d tokens, %d bytes" % (session.stats.cache.n_past,
                                                    session.stats.cache.bytes))
    for session_id in (sharer, receiver):
        router.CloseSession(worker_pb2.CloseSessionRequest(session_id=session_id),
                            metadata=metadata, timeout=10)
    return 0 if fact in session.transcript else 1


if __name__ == "__main__":
    sys.exit(main())

"""Independent peer for the discovery interop tests (Python grpcio + cryptography).

Usage: discovery_peer.py STUBS_DIR MODE ...
  client PORT KEY_HEX     drive our server, print one JSON line of results
  server KEY_HEX          run a minimal Cluster server; print its port; serve until stdin closes
  crypto KEY_HEX          read JSON {data, endpoint} (hex, sealed by us) on stdin, open them,
                          then seal our own and print JSON
"""
import json
import os
import sys
import threading
from concurrent import futures

sys.path.insert(0, sys.argv[1])

import grpc  # noqa: E402
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes  # noqa: E402
from cryptography.hazmat.primitives.ciphers.aead import AESGCM  # noqa: E402
from sidero.discovery.client import affiliate_pb2 as cpb  # noqa: E402
from sidero.discovery.server import cluster_pb2 as spb  # noqa: E402

SERVICE = "/sidero.discovery.server.Cluster/"


def seal_data(key, plain):
    nonce = os.urandom(12)
    return nonce + AESGCM(key).encrypt(nonce, plain, None)


def open_data(key, sealed):
    return AESGCM(key).decrypt(sealed[:12], sealed[12:], None)


def seal_endpoint(key, plain):
    raw = bytes([len(plain)]) + plain
    raw += b"\0" * (-len(raw) % 16)
    enc = Cipher(algorithms.AES(key), modes.ECB()).encryptor()
    return enc.update(raw) + enc.finalize()


def open_endpoint(key, sealed):
    dec = Cipher(algorithms.AES(key), modes.ECB()).decryptor()
    raw = dec.update(sealed) + dec.finalize()
    return raw[1:1 + raw[0]]


def py_affiliate():
    a = cpb.Affiliate(node_id="py-node", hostname="py", nodename="py",
                      machine_type="worker", operating_system="python",
                      addresses=[bytes([10, 9, 0, 1])])
    a.kubespan.public_key = "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE="
    a.kubespan.address = bytes([0xfd] + [0] * 14 + [9])
    return a


def py_endpoint():
    return cpb.Endpoint(ip=bytes([10, 9, 0, 1]), port=51820).SerializeToString()


def method(channel, name, req_cls, resp_cls, stream=False):
    make = channel.unary_stream if stream else channel.unary_unary
    return make(SERVICE + name, request_serializer=req_cls.SerializeToString,
                response_deserializer=resp_cls.FromString)


def run_client(port, key):
    out = {}
    ch = grpc.insecure_channel(f"127.0.0.1:{port}")
    hello = method(ch, "Hello", spb.HelloRequest, spb.HelloResponse)
    update = method(ch, "AffiliateUpdate", spb.AffiliateUpdateRequest, spb.AffiliateUpdateResponse)
    delete = method(ch, "AffiliateDelete", spb.AffiliateDeleteRequest, spb.AffiliateDeleteResponse)
    lst = method(ch, "List", spb.ListRequest, spb.ListResponse)
    watch = method(ch, "Watch", spb.WatchRequest, spb.WatchResponse, stream=True)

    out["client_ip"] = hello(spb.HelloRequest(cluster_id="interop", client_version="py"), timeout=10).client_ip.hex()
    stream = watch(spb.WatchRequest(cluster_id="interop"), timeout=20)
    snap = next(stream)
    out["snapshot"] = []
    for a in snap.affiliates:
        peer = cpb.Affiliate.FromString(open_data(key, a.data))
        eps = [cpb.Endpoint.FromString(open_endpoint(key, e)) for e in a.endpoints]
        out["snapshot"].append({"id": a.id, "node_id": peer.node_id,
                                "endpoints": [[e.ip.hex(), e.port] for e in eps]})
    req = spb.AffiliateUpdateRequest(cluster_id="interop", affiliate_id="py-node",
                                     affiliate_data=seal_data(key, py_affiliate().SerializeToString()),
                                     affiliate_endpoints=[seal_endpoint(key, py_endpoint())])
    req.ttl.seconds = 300
    update(req, timeout=10)
    upd = next(stream)
    out["watch_update"] = [a.id for a in upd.affiliates]
    out["list"] = sorted(a.id for a in lst(spb.ListRequest(cluster_id="interop"), timeout=10).affiliates)
    delete(spb.AffiliateDeleteRequest(cluster_id="interop", affiliate_id="py-node"), timeout=10)
    d = next(stream)
    out["watch_delete"] = [d.deleted, [a.id for a in d.affiliates]]
    stream.cancel()
    try:
        hello(spb.HelloRequest(cluster_id=""), timeout=10)
        out["invalid"] = "no error"
    except grpc.RpcError as e:
        out["invalid"] = [e.code().name, e.details()]
    print(json.dumps(out), flush=True)


class Store:
    def __init__(self):
        self.lock = threading.Lock()
        self.affiliates = {}
        self.watchers = []


def run_server(key):
    store = Store()

    def hello(req, ctx):
        if not req.cluster_id:
            ctx.abort(grpc.StatusCode.INVALID_ARGUMENT, "cluster ID can't be empty")
        return spb.HelloResponse(client_ip=bytes([127, 0, 0, 1]))

    def update(req, ctx):
        with store.lock:
            a = store.affiliates.setdefault(req.affiliate_id, spb.Affiliate(id=req.affiliate_id))
            if req.HasField("affiliate_data"):
                a.data = req.affiliate_data
            for e in req.affiliate_endpoints:
                if e not in a.endpoints:
                    a.endpoints.append(e)
            for q in store.watchers:
                q.append(spb.WatchResponse(affiliates=[a]))
        return spb.AffiliateUpdateResponse()

    def delete(req, ctx):
        with store.lock:
            store.affiliates.pop(req.affiliate_id, None)
            for q in store.watchers:
                q.append(spb.WatchResponse(affiliates=[spb.Affiliate(id=req.affiliate_id)], deleted=True))
        return spb.AffiliateDeleteResponse()

    def lst(req, ctx):
        with store.lock:
            return spb.ListResponse(affiliates=list(store.affiliates.values()))

    def watch(req, ctx):
        q = []
        with store.lock:
            store.watchers.append(q)
            yield spb.WatchResponse(affiliates=list(store.affiliates.values()))
        import time
        while ctx.is_active():
            while q:
                yield q.pop(0)
            time.sleep(0.01)

    def h(fn, req_cls, resp_cls, stream=False):
        make = grpc.unary_stream_rpc_method_handler if stream else grpc.unary_unary_rpc_method_handler
        return make(fn, request_deserializer=req_cls.FromString, response_serializer=resp_cls.SerializeToString)

    handlers = grpc.method_handlers_generic_handler("sidero.discovery.server.Cluster", {
        "Hello": h(hello, spb.HelloRequest, spb.HelloResponse),
        "AffiliateUpdate": h(update, spb.AffiliateUpdateRequest, spb.AffiliateUpdateResponse),
        "AffiliateDelete": h(delete, spb.AffiliateDeleteRequest, spb.AffiliateDeleteResponse),
        "List": h(lst, spb.ListRequest, spb.ListResponse),
        "Watch": h(watch, spb.WatchRequest, spb.WatchResponse, stream=True),
    })
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=16))
    server.add_generic_rpc_handlers((handlers,))
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    # A peer of our own in the store, sealed by Python.
    req = spb.AffiliateUpdateRequest(cluster_id="interop", affiliate_id="py-node",
                                     affiliate_data=seal_data(key, py_affiliate().SerializeToString()),
                                     affiliate_endpoints=[seal_endpoint(key, py_endpoint())])
    update(req, None)
    print(port, flush=True)
    sys.stdin.read()
    # After stdin closes: report what our client published, opened by Python.
    with store.lock:
        seen = {}
        for a in store.affiliates.values():
            if a.id == "py-node" or not a.data:
                continue
            peer = cpb.Affiliate.FromString(open_data(key, a.data))
            eps = [cpb.Endpoint.FromString(open_endpoint(key, e)) for e in a.endpoints]
            seen[a.id] = {"hostname": peer.hostname, "public_key": peer.kubespan.public_key,
                          "endpoints": [[e.ip.hex(), e.port] for e in eps]}
    print(json.dumps(seen), flush=True)
    server.stop(0)


def run_crypto(key):
    given = json.loads(sys.stdin.read())
    opened = open_data(key, bytes.fromhex(given["data"])).hex()
    endpoint = open_endpoint(key, bytes.fromhex(given["endpoint"])).hex()
    print(json.dumps({
        "opened_data": opened,
        "opened_endpoint": endpoint,
        "sealed_data": seal_data(key, b"from python").hex(),
        "sealed_endpoint": seal_endpoint(key, py_endpoint()).hex(),
        "sealed_endpoint_plain": py_endpoint().hex(),
    }), flush=True)


if __name__ == "__main__":
    mode = sys.argv[2]
    if mode == "client":
        run_client(int(sys.argv[3]), bytes.fromhex(sys.argv[4]))
    elif mode == "server":
        run_server(bytes.fromhex(sys.argv[3]))
    elif mode == "crypto":
        run_crypto(bytes.fromhex(sys.argv[3]))

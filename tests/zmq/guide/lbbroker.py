"""Load-balancing broker (ZeroMQ guide): clients and workers are REQ sockets in threads; the
broker's backend ROUTER learns which workers are free (their "READY" or their replies), and
its frontend ROUTER is only read while some worker is free.

usage: lbbroker.py CLIENTS WORKERS TRANSPORT   (TRANSPORT: inproc or tcp)
"""

import sys
import threading

import zmq

clients, workers, transport = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
context = zmq.Context.instance()
frontend = context.socket(zmq.ROUTER)
backend = context.socket(zmq.ROUTER)
if transport == "inproc":
    frontend.bind("inproc://frontend")
    backend.bind("inproc://backend")
    front_addr, back_addr = "inproc://frontend", "inproc://backend"
else:
    front_addr = f"tcp://127.0.0.1:{frontend.bind_to_random_port('tcp://127.0.0.1')}"
    back_addr = f"tcp://127.0.0.1:{backend.bind_to_random_port('tcp://127.0.0.1')}"


def client_task(ident: int) -> None:
    socket = zmq.Context.instance().socket(zmq.REQ)
    socket.setsockopt_string(zmq.IDENTITY, f"Client-{ident}")
    socket.connect(front_addr)
    socket.send(b"HELLO")
    reply = socket.recv()
    assert reply == b"OK", reply
    socket.close()


def worker_task(ident: int) -> None:
    socket = zmq.Context.instance().socket(zmq.REQ)
    socket.setsockopt_string(zmq.IDENTITY, f"Worker-{ident}")
    socket.connect(back_addr)
    socket.send(b"READY")
    try:
        while True:
            address, _empty, request = socket.recv_multipart()
            assert request == b"HELLO"
            socket.send_multipart([address, b"", b"OK"])
    except zmq.ContextTerminated:
        pass
    socket.close()


for i in range(workers):
    threading.Thread(target=worker_task, args=(i,), daemon=True).start()
client_threads = [threading.Thread(target=client_task, args=(i,)) for i in range(clients)]
for t in client_threads:
    t.start()

free_workers: list[bytes] = []
poller = zmq.Poller()
poller.register(backend, zmq.POLLIN)
left = clients
while left > 0:
    # Read the frontend only when a worker can take the request.
    if free_workers:
        poller.register(frontend, zmq.POLLIN)
    else:
        poller.register(frontend, 0)
    socks = dict(poller.poll(30000))
    if not socks:
        raise SystemExit("broker idle for 30 s")
    if socks.get(backend) == zmq.POLLIN:
        worker, empty, client, *reply = backend.recv_multipart()
        free_workers.append(worker)
        if client != b"READY":
            _empty, answer = reply
            frontend.send_multipart([client, b"", answer])
            left -= 1
    if free_workers and socks.get(frontend) == zmq.POLLIN:
        client, empty, request = frontend.recv_multipart()
        worker = free_workers.pop(0)
        backend.send_multipart([worker, b"", client, b"", request])

for t in client_threads:
    t.join(20)
print(f"served {clients} clients with {workers} workers")
frontend.close()
backend.close()
context.term()  # the workers see ETERM and end

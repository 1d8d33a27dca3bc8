"""The sans-IO core against JeroMQ 0.3.6, a ZMTP/2.0-only peer (our downgrade path).

Runs only where ``java``/``javac`` and the JeroMQ jar exist (Debian/Ubuntu:
``apt-get install libjeromq-java default-jdk-headless``); otherwise it skips.  The test
installs nothing.  The Java peer is compiled from the source below into a temp dir.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from zmtp.protocol import (
    Connection,
    Event,
    HandshakeComplete,
    Message,
    SocketType,
    Subscribe,
)

JAR_CANDIDATES = [
    os.environ.get("JEROMQ_JAR", ""),
    "/usr/share/java/jeromq.jar",
]
TIMEOUT = 20.0

PEER_JAVA = r"""
import org.zeromq.ZMQ;
import java.util.ArrayList;
import java.util.List;

public class Peer {
    static List<byte[]> recvMultipart(ZMQ.Socket s) {
        List<byte[]> frames = new ArrayList<byte[]>();
        do {
            byte[] f = s.recv(0);
            if (f == null) { System.out.println("TIMEOUT"); System.exit(2); }
            frames.add(f);
        } while (s.hasReceiveMore());
        return frames;
    }

    public static void main(String[] args) throws Exception {
        ZMQ.Context ctx = ZMQ.context(1);
        String mode = args[0];
        String endpoint = args[1];
        ZMQ.Socket s;
        if (mode.equals("dealer")) {
            s = ctx.socket(ZMQ.DEALER);
            s.setIdentity("jeromq".getBytes());
            s.setReceiveTimeOut(15000);
            s.setLinger(2000);
            s.connect(endpoint);
            s.sendMore("hello");
            s.sendMore("");
            s.send("world");
            List<byte[]> frames = recvMultipart(s);
            for (int i = 0; i < frames.size() - 1; i++) s.sendMore(frames.get(i));
            s.send(frames.get(frames.size() - 1), 0);
            System.out.println("ECHOED " + frames.size());
        } else {
            s = ctx.socket(ZMQ.SUB);
            s.setReceiveTimeOut(15000);
            s.setLinger(0);
            s.subscribe("t".getBytes());
            s.connect(endpoint);
            List<byte[]> frames = recvMultipart(s);
            System.out.println("GOT " + new String(frames.get(0)) + " " + frames.size());
        }
        s.close();
        ctx.term();
    }
}
"""


def _jar() -> str:
    for candidate in JAR_CANDIDATES:
        if candidate and os.path.exists(candidate):
            return candidate
    pytest.skip("JeroMQ jar not found (apt-get install libjeromq-java, or set JEROMQ_JAR)")


@pytest.fixture(scope="module")
def java_peer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[str]]:
    if shutil.which("java") is None or shutil.which("javac") is None:
        pytest.skip("java/javac not installed")
    jar = _jar()
    workdir: Path = tmp_path_factory.mktemp("jeromq")
    (workdir / "Peer.java").write_text(PEER_JAVA)
    subprocess.run(
        ["javac", "-cp", jar, "-d", str(workdir), str(workdir / "Peer.java")],
        check=True, timeout=120, capture_output=True,
    )
    yield ["java", "-cp", f"{jar}{os.pathsep}{workdir}", "Peer"]


class Driver:
    def __init__(self, sock: socket.socket, conn: Connection) -> None:
        sock.settimeout(TIMEOUT)
        self.sock = sock
        self.conn = conn
        self.events: list[Event] = []

    def take(self, cls: type[Event]) -> Event:
        while True:
            for i, event in enumerate(self.events):
                if isinstance(event, cls):
                    return self.events.pop(i)
            for chunk in self.conn.data_to_send():
                self.sock.sendall(chunk)
            data = self.sock.recv(65536)
            assert data, f"peer closed while waiting for {cls.__name__}: {self.events}"
            self.events += self.conn.receive_data(data)

    def flush(self) -> None:
        for chunk in self.conn.data_to_send():
            self.sock.sendall(chunk)


def _run(java_peer: list[str], mode: str, conn: Connection) -> tuple[Driver, subprocess.Popen[str]]:
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(TIMEOUT)
    port = listener.getsockname()[1]
    proc = subprocess.Popen(
        [*java_peer, mode, f"tcp://127.0.0.1:{port}"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        sock, _ = listener.accept()
    except OSError:
        proc.kill()
        raise
    finally:
        listener.close()
    return Driver(sock, conn), proc


def _finish(proc: subprocess.Popen[str]) -> str:
    try:
        out, _ = proc.communicate(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _ = proc.communicate()
        raise AssertionError(f"java peer did not finish: {out}") from None
    assert proc.returncode == 0, out
    return out


def test_router_with_jeromq_dealer(java_peer: list[str]) -> None:
    d, proc = _run(java_peer, "dealer", Connection(SocketType.ROUTER))
    try:
        hs = d.take(HandshakeComplete)
        assert hs == HandshakeComplete(SocketType.DEALER, b"jeromq", {}, (2, 0))
        assert d.take(Message) == Message([b"hello", b"", b"world"])
        reply = [b"echo", b"", b"x" * 300, b""]
        d.conn.send_message(reply)
        d.flush()
        assert d.take(Message) == Message(reply)
        assert "ECHOED 4" in _finish(proc)
    finally:
        d.sock.close()
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_pub_with_jeromq_sub(java_peer: list[str]) -> None:
    d, proc = _run(java_peer, "sub", Connection(SocketType.PUB))
    try:
        hs = d.take(HandshakeComplete)
        assert isinstance(hs, HandshakeComplete) and hs.peer_version == (2, 0)
        assert d.take(Subscribe) == Subscribe(b"t")  # a 0x01 message in ZMTP/2.0
        d.conn.send_message([b"t-msg", b"body"])
        d.flush()
        assert "GOT t-msg 2" in _finish(proc)
    finally:
        d.sock.close()
        if proc.poll() is None:
            proc.kill()
            proc.wait()

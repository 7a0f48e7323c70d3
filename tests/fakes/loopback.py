"""What the fake platform servers share: a ThreadingHTTPServer on a free loopback port in a
thread, started and stopped as a context manager (a fake may set `self.stopping`, an Event that
wakes answers it is holding back), and the signed request a fake platform sends to the product."""
from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from http.server import ThreadingHTTPServer


class Loopback:
    def _listen(self, handler: type, name: str) -> None:
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), name=name, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        stopping = getattr(self, "stopping", None)
        if stopping is not None:
            stopping.set()
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


@dataclass
class SignedRequest:
    body: bytes
    headers: dict[str, str]

    def json(self) -> dict:
        return json.loads(self.body)

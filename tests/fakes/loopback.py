"""What every fake platform server shares: its ThreadingHTTPServer thread, started and stopped
as a context manager. A fake sets `self.server` and `self.thread` (and may set `self.stopping`,
an Event that wakes answers it is holding back)."""
from __future__ import annotations


class Loopback:
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

"""The kernel the grader starts: ipykernel with the MNIST hook installed.

Run as `python -m grader.inside.kernel -f CONNECTION_FILE`.
"""

from . import probe  # noqa: F401  (now, before any student cell: it binds the functions it writes with)
from .mnist_hook import install

MAX_OUTPUT_CHARS = 250_000  # of one string in one output message; the grader keeps 100,000 per cell


def _cut(value):
    if isinstance(value, str) and len(value) > MAX_OUTPUT_CHARS:
        half = MAX_OUTPUT_CHARS // 2  # the end matters too: the last epoch, the last frame
        return f"{value[:half]}\n[… {len(value) - 2 * half:,} characters cut by the grader …]\n{value[-half:]}"
    if isinstance(value, dict):
        return {k: _cut(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_cut(v) for v in value[:1000]]
    return value


def _last_frames(text: str) -> str:
    """A progress bar's lines as a terminal leaves them: the text after each line's last "\r"."""
    return "\n".join(line if "\r" not in line[:-1] else line[:-1].rsplit("\r", 1)[-1] + line[-1] for line in text.split("\n"))


def cap_outputs() -> None:
    """Cut huge outputs before they are sent: `print` of 500 MB or a 100 MB image costs neither this
    kernel nor the grader that much memory. (A notebook can undo this; the grader has its own bound.)"""
    from jupyter_client.session import Session

    serialize = Session.serialize

    def capped(self, msg, ident=None):
        content = msg.get("content")
        if msg.get("msg_type") == "stream" and isinstance(content, dict) and "\r" in str(content.get("text", "")):
            msg = {**msg, "content": {**content, "text": _last_frames(content["text"])}}
        if msg.get("msg_type") in ("stream", "display_data", "update_display_data", "execute_result", "error"):
            msg = {**msg, "content": _cut(msg.get("content"))}
        return serialize(self, msg, ident)

    Session.serialize = capped
    bound_stream_buffers()


MAX_BUFFERED_CHARS = 4 * MAX_OUTPUT_CHARS  # of a stream between two flushes


def bound_stream_buffers() -> None:
    """Keep at most MAX_BUFFERED_CHARS of print() output waiting for the next flush: a loop that
    prints faster than the kernel's I/O thread sends (it runs under a CPU quota) would otherwise
    hold all of it in memory, and 500 MB of prints would kill the kernel before any was cut."""
    from ipykernel.iostream import OutStream

    write = OutStream.write

    def bounded(self, string):
        if isinstance(string, str) and self.pub_thread is not None:
            with self._buffer_lock:
                buffer = self._buffers[frozenset(self.parent_header.items())]
                waiting = buffer.tell()
                if waiting >= MAX_BUFFERED_CHARS:
                    return len(string)  # dropped: the grader keeps 100,000 characters per cell anyway
                if waiting + len(string) > MAX_BUFFERED_CHARS:
                    string = string[: MAX_BUFFERED_CHARS - waiting] + "\n[… output dropped by the grader: too much at once …]\n"
        return write(self, string)

    OutStream.write = bounded


if __name__ == "__main__":
    import os

    # the kernel's own console chatter is not the notebook's output (that goes over ZeroMQ)
    quiet = os.open(os.devnull, os.O_WRONLY)
    os.dup2(quiet, 1)
    os.dup2(quiet, 2)
    install()
    cap_outputs()
    from ipykernel import kernelapp

    kernelapp.launch_new_instance()

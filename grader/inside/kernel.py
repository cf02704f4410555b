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

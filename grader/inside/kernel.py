"""The kernel the grader starts: ipykernel with the MNIST hook installed.

Run as `python -m grader.inside.kernel -f CONNECTION_FILE`.
"""

from . import probe  # noqa: F401  (now, before any student cell: it binds the functions it writes with)
from .mnist_hook import install

if __name__ == "__main__":
    import os

    # the kernel's own console chatter is not the notebook's output (that goes over ZeroMQ)
    quiet = os.open(os.devnull, os.O_WRONLY)
    os.dup2(quiet, 1)
    os.dup2(quiet, 2)
    install()
    from ipykernel import kernelapp

    kernelapp.launch_new_instance()

"""The kernel the grader starts: ipykernel with the MNIST hook installed.

Run as `python -m grader.inside.kernel -f CONNECTION_FILE`.
"""

from .mnist_hook import install

if __name__ == "__main__":
    install()
    from ipykernel import kernelapp

    kernelapp.launch_new_instance()

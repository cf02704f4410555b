"""Which isolation runs student code: bubblewrap where it works, container isolation where the
grader is root in a throwaway container that forbids namespaces, and nothing only when asked."""

from __future__ import annotations

from grader.errors import GraderError
from grader.sandbox import bwrap, container

CHOICES = ("auto", "bubblewrap", "container", "none")


def choose_isolation(requested: str = "auto") -> str:
    """"bubblewrap", "container" or "none" (only when requested); GraderError with the cause otherwise."""
    if requested not in CHOICES:
        raise GraderError(f"unknown sandbox {requested!r}: use one of {', '.join(CHOICES)}")
    if requested == "none":
        return "none"
    why_not_bwrap = bwrap.available()
    if requested == "bubblewrap" or (requested == "auto" and why_not_bwrap is None):
        if why_not_bwrap:
            raise GraderError(f"{why_not_bwrap}.\n{_FIX}")
        return "bubblewrap"
    why_not_container = container.available()
    if requested == "container":
        if why_not_container:
            raise GraderError(f"{why_not_container}.")
        return "container"
    if why_not_container is None and container.in_container():
        return "container"
    raise GraderError(
        f"{why_not_bwrap}.\n{_FIX}\n"
        f"Container isolation is not possible either: "
        + (why_not_container or f"this does not look like a container (set {container.CONTAINER_ENV}=1 in one)")
        + "."
    )


_FIX = (
    "The grader will not run student code without a sandbox. Install bubblewrap and allow user "
    "namespaces (sysctl kernel.unprivileged_userns_clone=1; on Ubuntu 24.04 also "
    "kernel.apparmor_restrict_unprivileged_userns=0), run as root in a container (--sandbox container), "
    "or pass --sandbox none to run trusted notebooks unsandboxed."
)

"""Small pieces of wording shared by everything a person reads."""


def counted(count: int, noun: str, plural: str | None = None) -> str:
    """'1 submission', '2 submissions', '3 worker processes' (plural given when not noun + 's')."""
    return f"{count} {noun if count == 1 else plural or noun + 's'}"

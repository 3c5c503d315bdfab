"""How a message counts things: "1 image has", "2 images have"."""


def counted(n: int, noun: str, plural: str | None = None) -> str:
    """`n` and the noun in the number `n` takes: counted(1, "image") is "1 image", counted(3, "image") "3 images"."""
    return f"{n} {noun if n == 1 else plural or noun + 's'}"


def verb(n: int, singular: str, plural: str) -> str:
    """The verb form that agrees with a count of `n`: verb(1, "has", "have") is "has"."""
    return singular if n == 1 else plural

"""Shared by the benchmarks: print a result table and keep it where --out says."""


def publish(lines, out=None):
    """Prints the Markdown `lines` and writes them to `out` (a path) when given."""
    text = "\n".join(lines) + "\n"
    print(text)
    if out:
        with open(out, "w") as fh:
            fh.write(text)

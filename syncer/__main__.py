"""`python -m syncer` and the `syncer` command.

Loading syncer takes about 0.2 s; a Ctrl-C in that time ends like a Ctrl-C later (exit 130,
one line), not with a traceback.
"""

import sys


def run() -> None:
    try:
        from .cli import entry
    except KeyboardInterrupt:
        from .exits import Exit

        sys.stderr.write("syncer: error: interrupted\n")
        sys.exit(Exit.INTERRUPTED)
    entry()


if __name__ == "__main__":
    run()

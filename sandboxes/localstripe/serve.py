"""localstripe, a fake but stateful Stripe server, on 127.0.0.1 for the tests.

    PYTHONPATH=.python python3 serve.py PORT

Runs localstripe's own aiohttp application (every Stripe route and its behaviour are
localstripe's), with two changes to how it is hosted, not to what it answers: it listens
on loopback only (localstripe's `start()` binds every interface), and its store stays in
memory (localstripe writes every change to, and reloads from, one shared
/tmp/localstripe.pickle, which parallel tests would race on).
"""

import sys

from aiohttp import web

from localstripe import resources
from localstripe.server import app


def main():
    try:
        port = int(sys.argv[1])
    except (IndexError, ValueError):
        sys.exit(f"serve.py: expected a port as the first argument, found {sys.argv[1:]!r}")
    resources.Store.dump_to_disk = lambda self: None
    web.run_app(app, host="127.0.0.1", port=port, print=lambda _: print(f"localstripe ready at http://127.0.0.1:{port}", flush=True))


if __name__ == "__main__":
    main()

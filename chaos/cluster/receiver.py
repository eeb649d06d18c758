"""The chaos webhook receiver (chaos/receiver.py) listening on a given address, for a host of its own.

python -m chaos.cluster.receiver --host 10.213.1.3 --port 8123
"""

import argparse

from aiohttp import web

from chaos.receiver import build_app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", required=True)
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    web.run_app(build_app(), host=args.host, port=args.port, access_log=None, print=None, backlog=1024)


if __name__ == "__main__":
    main()

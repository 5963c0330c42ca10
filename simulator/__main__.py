"""``python -m simulator SCENARIO [--host H] [--port P] [--time-scale N]``: serve a scenario file or a
bundled scenario by name (the same as ``switchyard simulate``)."""

from __future__ import annotations

import argparse
import logging

from simulator.scenario import ScenarioError, bundled_scenarios
from simulator.server import serve


def main(argv: list[str] | None = None) -> int:
    """Parse arguments and serve until interrupted."""
    parser = argparse.ArgumentParser(prog="python -m simulator", description=__doc__)
    parser.add_argument("scenario", help=f"a file or a bundled name: {', '.join(sorted(bundled_scenarios()))}")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8300)
    parser.add_argument("--time-scale", type=float, default=None)
    parser.add_argument("--require-key", action="store_true", help="reject requests without an API key")
    parser.add_argument("--access-log", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        serve(args.scenario, args.host, args.port, args.time_scale, require_key=args.require_key,
              access_log=args.access_log)
    except ScenarioError as exc:
        parser.error(str(exc))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Verify an Open Badges 2.0 assertion with 1EdTech's validator (`openbadges` 1.1.2); print its report.

    tools/obvalidate.py URL [--email alice@example.org] [--graph]

The validator pins libraries that clash with the app's, so it lives in its own virtualenv,
`.venv-obv` (`make .venv-obv` builds it with the recipe of OPENBADGES.md). Run with any Python,
this script re-runs itself with that virtualenv's interpreter. It works offline: the one
outside document the validator fetches, the JSON-LD context https://w3id.org/openbadges/v2, is
answered from the copy the package ships, and only the assertion's own origin and loopback
pass through to the network; anything else the validator tries to fetch fails as unreachable.

Prints the report JSON (`{"valid", "errorCount", "warningCount", "messages", …}`; with --graph,
`{"report", "graph"}`) on stdout. Exit status: 0 valid, 1 invalid, 2 could not run.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".venv-obv"
PYTHON = VENV / "bin" / "python"


def _reexec_in_venv() -> None:
    if Path(sys.prefix).resolve() == VENV.resolve():
        return
    if not PYTHON.exists():
        sys.stderr.write(f"obvalidate: the validator's virtualenv {VENV} is missing; build it with `make .venv-obv`\n")
        sys.exit(2)
    os.execv(str(PYTHON), [str(PYTHON), str(Path(__file__).resolve()), *sys.argv[1:]])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url", help="the hosted assertion's URL")
    parser.add_argument("--email", help="the recipient email the assertion must be for")
    parser.add_argument("--graph", action="store_true", help="also print the documents the validator fetched")
    args = parser.parse_args()
    _reexec_in_venv()
    try:
        import responses
        from openbadges import verify
        from openbadges.verifier.openbadges_context import OPENBADGES_CONTEXT_V2_DICT, OPENBADGES_CONTEXT_V2_URI
    except ImportError as exc:
        sys.stderr.write(f"obvalidate: the validator is not installed in {VENV} ({exc}); rebuild it with `make .venv-obv`\n")
        return 2
    target = urlsplit(args.url)
    profile = {"email": args.email} if args.email else None
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.add(responses.GET, OPENBADGES_CONTEXT_V2_URI, json=OPENBADGES_CONTEXT_V2_DICT,
                 content_type="application/ld+json")
        for origin in {f"{target.scheme}://{target.netloc}", "http://127.0.0.1", "http://localhost"}:
            mock.add_passthru(origin)
        result = verify(args.url, recipient_profile=profile, use_cache=False)
    report = result["report"]
    out = {"report": report, "graph": result.get("graph")} if args.graph else report
    print(json.dumps(out, indent=2, sort_keys=True, default=str))
    return 0 if report.get("valid") else 1


if __name__ == "__main__":
    sys.exit(main())

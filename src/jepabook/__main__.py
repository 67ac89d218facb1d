"""Command line: run a chapter's experiments without the notebook and print its claims table.

    python -m jepabook run basics --profile ci --seeds 0,1,2 [--json out.json] [--workers N]
    python -m jepabook blas install|status    # the fast BLAS under MLX on Linux (jepabook.blas)
    python -m jepabook compare A.json B.json  # do two runs agree: bits, printed values, verdicts
    python -m jepabook verify ijepa [--seeds 5,6,7,8,9] [--profile full] [--record R.json]
                                              # rerun on other seeds: which verdicts agree, which flip

Writes ``results/<chapter>-<profile>.json`` (atomically) for the published seeds 0,1,2, and
``results/<chapter>-<profile>-seeds-....json`` for any others unless ``--publish`` is given;
with ``--json``, a copy there too.
"""

from __future__ import annotations

import argparse
import sys

from jepabook.core.chapters import CHAPTERS


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m jepabook", description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run a chapter's experiments and print its claims table")
    run.add_argument("chapter", help=f"one of: {', '.join(CHAPTERS)}")
    run.add_argument("--profile", default="full", help="'ci' (small, fast) or 'full' (published); default full")
    run.add_argument("--seeds", default=None,
                     help="comma-separated non-negative integers; default the profile's published seeds "
                     "(full 0,1,2,3,4; ci 0,1,2)")
    run.add_argument("--json", dest="json_path", default=None, help="also write the results record here")
    run.add_argument("--workers", type=int, default=None, help="parallel processes; default one per CPU core")
    run.add_argument("--no-save", action="store_true", help="do not write results/<chapter>-<profile>[-seeds-...].json")
    run.add_argument("--publish", action="store_true",
                     help="write results/<chapter>-<profile>.json even for seeds other than the published ones")
    cmp = sub.add_parser("compare", help="compare two results records claim by claim (bits, printed values, verdicts)")
    cmp.add_argument("records", nargs=2, metavar="RECORD.json")
    ver = sub.add_parser("verify", help="rerun a chapter on other seeds and compare its verdicts with the published ones")
    ver.add_argument("chapter", help=f"one of: {', '.join(CHAPTERS)}")
    ver.add_argument("--profile", default="full", help="'ci' or 'full' (default)")
    ver.add_argument("--seeds", default=None,
                     help="comma-separated non-negative integers; default full 5,6,7,8,9, ci 3,4,5 (disjoint from "
                     "the published seeds)")
    ver.add_argument("--record", default=None, help="compare this record instead of running (no --seeds)")
    ver.add_argument("--workers", type=int, default=None, help="parallel processes; default one per CPU core")
    blas = sub.add_parser("blas", help="build or inspect the fast BLAS under MLX (Linux)")
    blas.add_argument("action", choices=["install", "status"])
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "compare":
        from . import compare

        try:
            return compare.main(args.records)
        except (OSError, ValueError) as err:
            print(f"error: {err}", file=sys.stderr)
            return 2
    if args.command == "verify":
        from jepabook.ledger import verify

        try:
            if args.workers is not None and args.workers < 1:
                raise ValueError(f"workers must be a positive integer; got {args.workers!r}")
            return verify.main(args.chapter, args.profile, args.seeds, args.record, args.workers)
        except (OSError, ValueError) as err:
            print(f"error: {err}", file=sys.stderr)
            return 2
    if args.command == "blas":
        from . import blas

        if args.action == "install":
            blas.install()  # a failed install leaves the reference BLAS, which still gives right answers
        else:
            for key, value in blas.info().items():
                print(f"{key}: {value}")
        return 0
    from jepabook.core.chapters import load
    from jepabook.core.config import PROFILE_NAMES, parse_seeds, published_seeds

    try:
        module = load(args.chapter)
        if args.profile not in PROFILE_NAMES:
            raise ValueError(f"profile must be one of {', '.join(map(repr, PROFILE_NAMES))}; got {args.profile!r}")
        seeds = parse_seeds(published_seeds(args.profile) if args.seeds is None else args.seeds)
        if args.workers is not None and args.workers < 1:
            raise ValueError(f"workers must be a positive integer; got {args.workers!r}")
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    # progress: a bar on a terminal, one line per finished task when stderr is a file or a pipe
    result = module.run(args.profile, seeds, progress=None, workers=args.workers)
    record = result.record
    print(record.table())
    timing = ", ".join(f"{k} {v:.1f} s" for k, v in record.timing_s.items())
    print(f"\n{record.chapter} at profile {record.profile}, seeds {record.seeds}: {timing}")
    if not args.no_save:
        print(f"wrote {record.save(publish=args.publish)}")
    if args.json_path:
        print(f"wrote {record.save(args.json_path)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

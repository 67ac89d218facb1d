"""Command line: run a chapter's experiments without the notebook and print its claims table.

    python -m jepabook run basics [--profile ci|full] [--seeds 0,1,2] [--json out.json] [--workers N]
    python -m jepabook blas install|status    # the fast BLAS under MLX on Linux (jepabook.blas)
    python -m jepabook compare A.json B.json  # do two runs agree: bits, printed values, verdicts
    python -m jepabook verify ijepa [--seeds 5,6,7,8,9] [--profile full] [--record R.json]
                                              # rerun on other seeds: which verdicts agree, which flip
    python -m jepabook rejudge results/ijepa-full.json [--json moved.json]
                                              # re-judge a committed record with the current claims

``run`` defaults to the small ``ci`` profile (under a minute a chapter); ``--profile full`` repeats the
published run and first says what it cost where the published record was made.

Writes ``results/<chapter>-<profile>.json`` (atomically) for the published seeds, and
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
    run.add_argument("--profile", default="ci",
                     help="'ci' (small, under a minute; the default) or 'full' (the published run: minutes)")
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
                     help="comma-separated non-negative integers; default full 5,6,7,8,9 (crossjepa, published on "
                     "0-9: 10-19), ci 3,4,5 (disjoint from the published seeds)")
    ver.add_argument("--record", default=None, help="compare this record instead of running (no --seeds)")
    ver.add_argument("--workers", type=int, default=None, help="parallel processes; default one per CPU core")
    rej = sub.add_parser("rejudge", help="re-judge committed records with the current claims: what moved, and why")
    rej.add_argument("records", nargs="+", metavar="RECORD.json")
    rej.add_argument("--json", dest="json_path", default=None, help="also write the rows here")
    blas = sub.add_parser("blas", help="build or inspect the fast BLAS under MLX (Linux)")
    blas.add_argument("action", choices=["install", "status"])
    return p


def full_run_cost(chapter: str, n_seeds: int, results=None) -> str:
    """What a ``full`` run of ``chapter`` costs, from the published record's own timings (never typed)."""
    import json

    from jepabook.core.platforms import describe
    from jepabook.core.results import published_dir

    path = (published_dir() if results is None else results) / f"{chapter}-full.json"
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return (f"{chapter} at profile full: no published record to time it by ({path}); expect minutes, "
                f"not seconds. --profile ci runs the small profile in under a minute.")
    phases = ("plan_wall", "tasks_wall", "measure_wall")
    seconds = sum(float(record.get("timing_s", {}).get(k, 0.0)) for k in phases)
    seeds = len(record.get("seeds", [])) or n_seeds
    scaled = seconds * n_seeds / seeds
    return (f"{chapter} at profile full, {n_seeds} seeds: the published run ({seeds} seeds) took "
            f"{seconds / 60:.1f} min of experiments on {describe(record.get('platform', {}))}, so expect about "
            f"{max(scaled / 60, 0.1):.0f} min here on a machine like it (more on fewer cores). "
            f"Ctrl-C stops it; --profile ci runs the small profile in under a minute.")


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "compare":
        from . import compare

        try:
            return compare.main(args.records)
        except (OSError, ValueError) as err:
            print(f"error: {err}", file=sys.stderr)
            return 2
    if args.command == "rejudge":
        from . import rejudge

        try:
            return rejudge.main(args.records, args.json_path)
        except (OSError, ValueError) as err:
            print(f"error: {err}", file=sys.stderr)
            return 2
    if args.command == "verify":
        from jepabook.ledger import verify

        try:
            if args.workers is not None and args.workers < 1:
                raise ValueError(f"workers must be a positive integer; got {args.workers!r}")
            if args.profile == "full" and args.record is None and args.chapter in CHAPTERS:
                from jepabook.core.config import parse_seeds

                n = len(parse_seeds(args.seeds)) if args.seeds is not None else len(verify.verify_seeds("full", args.chapter))
                print(full_run_cost(args.chapter, n), file=sys.stderr, flush=True)
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
        seeds = parse_seeds(published_seeds(args.profile, args.chapter) if args.seeds is None else args.seeds)
        if args.workers is not None and args.workers < 1:
            raise ValueError(f"workers must be a positive integer; got {args.workers!r}")
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    if args.profile == "full":
        print(full_run_cost(args.chapter, len(seeds)), file=sys.stderr, flush=True)
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

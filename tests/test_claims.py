import json
import os

import pytest

from jepabook.core.claims import (DIRECTION_ONLY, NOT_REPRODUCED, REPRODUCED, Above, AllOf, Below, BoundEveryRun,
                             Claim, ClaimResult, ClaimsTable, Greater, Increasing, PeakAt, Within, evaluate)
from jepabook.core.results import ChapterRun, write_json_atomic


def test_greater_three_verdicts():
    rule = Greater("a", "b")
    assert evaluate(rule, {"a": [0.9, 0.8, 0.85], "b": [0.1, 0.2, 0.15]}) == REPRODUCED
    # holds on the means, one seed goes the other way, margin below two standard errors
    assert evaluate(rule, {"a": [0.5, 0.6, 0.3], "b": [0.4, 0.4, 0.4]}) == DIRECTION_ONLY
    assert evaluate(rule, {"a": [0.1, 0.2, 0.3], "b": [0.3, 0.3, 0.3]}) == NOT_REPRODUCED


def test_paired_difference_beyond_two_standard_errors_without_every_seed():
    # one seed reverses but the mean difference is far beyond 2 SE: reproduced
    diffs = [1.0] * 9 + [-0.01]
    assert evaluate(Greater("a", "b"), {"a": [1 + d for d in diffs], "b": [1.0] * 10}) == REPRODUCED


def test_thresholds():
    assert evaluate(Below("x", 0.1), {"x": [0.01, 0.02, 0.03]}) == REPRODUCED
    assert evaluate(Below("x", 0.1), {"x": [0.01, 0.02, 0.2]}) == DIRECTION_ONLY
    assert evaluate(Below("x", 0.1), {"x": [0.2, 0.3, 0.05]}) == NOT_REPRODUCED
    assert evaluate(Above("x", 0.5), {"x": [0.6, 0.7, 0.8]}) == REPRODUCED
    assert evaluate(Within("x", 1.0, 0.1), {"x": [0.95, 1.05, 1.0]}) == REPRODUCED
    assert evaluate(Within("x", 1.0, 0.1), {"x": [0.85, 1.05, 1.05]}) == DIRECTION_ONLY
    assert evaluate(Within("x", 1.0, 0.1), {"x": [1.3, 1.2, 1.0]}) == NOT_REPRODUCED


def test_one_seed_is_never_beyond_noise_by_margin_but_can_hold_in_every_seed():
    assert evaluate(Below("x", 0.1), {"x": [0.01]}) == REPRODUCED
    assert evaluate(Greater("a", "b"), {"a": [1.0], "b": [0.0]}) == REPRODUCED


def test_increasing_peak_bound_allof():
    inc = Increasing(("s1", "s2", "s3"))
    assert evaluate(inc, {"s1": [1, 1, 1], "s2": [2, 2, 2], "s3": [3, 3, 3]}) == REPRODUCED
    assert evaluate(inc, {"s1": [1, 1, 1], "s2": [3, 3, 3], "s3": [2, 2, 2]}) == NOT_REPRODUCED
    peak = PeakAt(("a", "b", "c"), "b")
    assert evaluate(peak, {"a": [1, 1], "b": [2, 2], "c": [1.5, 1.5]}) == REPRODUCED
    assert evaluate(peak, {"a": [3, 3], "b": [2, 2], "c": [1.5, 1.5]}) == NOT_REPRODUCED
    # an exact tie is not a peak, even when the peak arm is listed first
    tie = PeakAt(("b", "a"), "b")
    assert evaluate(tie, {"a": [2, 2], "b": [2, 2]}) == NOT_REPRODUCED
    bound = BoundEveryRun("err", "bnd")
    assert evaluate(bound, {"err": [0.1, 0.2], "bnd": [0.2, 0.3]}) == REPRODUCED
    assert evaluate(bound, {"err": [0.1, 0.4], "bnd": [0.2, 0.3]}) == NOT_REPRODUCED
    both = AllOf((Below("x", 1), Above("y", 0)))
    assert evaluate(both, {"x": [0.5, 0.5], "y": [1, 1]}) == REPRODUCED
    assert evaluate(both, {"x": [0.5, 0.5], "y": [-1, -1]}) == NOT_REPRODUCED


def test_missing_arm_and_unknown_peak_are_clear_errors():
    with pytest.raises(KeyError, match="no arm 'b'"):
        evaluate(Greater("a", "b"), {"a": [1.0]})
    with pytest.raises(ValueError, match="peak 'z'"):
        evaluate(PeakAt(("a", "b"), "z"), {"a": [1.0], "b": [2.0]})


def _claim(rule=Greater("a", "b")):
    return Claim("toy.claim", "toy", "a beats b", "paper 1 > 0", "—", "score", rule, shown=("a", "b"))


def test_result_record_schema_and_table():
    result = ClaimResult.of(_claim(), {"a": [0.9, 0.8], "b": [0.1, 0.2]})
    assert result.verdict == REPRODUCED
    record = ChapterRun("toy", "ci", [0, 1], [result], timing_s={"train": 1.23456}, config={"steps": 3})
    data = record.to_json()
    assert set(data) == {"chapter", "profile", "seeds", "platform", "timing_s", "claims", "config"}
    assert {"device", "mlx"} <= set(data["platform"])
    claim = data["claims"][0]
    assert set(claim) >= {"id", "statement", "paper", "laptop", "measured", "rule", "verdict"}
    assert claim["measured"] == {"a": [0.9, 0.8], "b": [0.1, 0.2]}
    assert data["timing_s"] == {"train": 1.235}
    text = repr(ClaimsTable([result]))
    assert "[reproduced] toy.claim" in text and "a 0.85 ± 0.07" in text
    assert "a 0.9 ± 0.1" in repr(record.table())  # the ci profile prints one digit fewer
    assert "a 0.85 ± 0.07" in repr(ChapterRun("toy", "full", [0, 1], [result]).table())
    html = ClaimsTable([ClaimResult.of(_claim(), {"a": [0.1, 0.2], "b": [0.3, 0.3]})])._repr_html_()
    assert "<b>toy.claim</b>" in html and ">not reproduced</span>" in html and "a beats b" in html


def test_atomic_write_replaces_whole_file(tmp_path):
    path = tmp_path / "r.json"
    write_json_atomic(path, {"v": 1})
    write_json_atomic(path, {"v": 2})
    assert json.loads(path.read_text()) == {"v": 2}
    assert os.listdir(tmp_path) == ["r.json"]
    old = os.umask(0o022)
    try:
        write_json_atomic(path, {"v": 3})
    finally:
        os.umask(old)
    assert path.stat().st_mode & 0o777 == 0o644  # readable by the group and others, as open() would make it


def test_interrupted_write_keeps_last_good_file(tmp_path, monkeypatch):
    path = tmp_path / "r.json"
    write_json_atomic(path, {"v": "good"})

    def interrupted(fd):
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "fsync", interrupted)
    with pytest.raises(KeyboardInterrupt):
        write_json_atomic(path, {"v": "half"})
    assert json.loads(path.read_text()) == {"v": "good"}
    assert os.listdir(tmp_path) == ["r.json"]  # no temporary file left behind


def test_worker_count_from_environment(monkeypatch):
    from jepabook.core.parallel import default_workers, run_tasks

    monkeypatch.setenv("JEPABOOK_WORKERS", "3")
    assert default_workers() == 3
    monkeypatch.setenv("JEPABOOK_WORKERS", "many")
    with pytest.raises(ValueError, match="JEPABOOK_WORKERS must be a positive integer; got 'many'"):
        default_workers()
    with pytest.raises(ValueError, match="workers must be a positive integer"):
        run_tasks(max, [(1, 2)], workers=0)
    assert run_tasks(max, [(1, 2), (5, 3)], workers=1) == [2, 5]


def test_a_run_on_other_seeds_never_takes_the_published_name(tmp_path, monkeypatch):
    monkeypatch.setenv("JEPABOOK_RESULTS", str(tmp_path))
    result = ClaimResult.of(_claim(), {"a": [0.9, 0.8, 0.7], "b": [0.1, 0.2, 0.3]})
    published = ChapterRun("toy", "full", [0, 1, 2], [result])
    other = ChapterRun("toy", "full", [201, 202, 203], [result])
    assert published.save() == tmp_path / "toy-full.json"
    assert other.save() == tmp_path / "toy-full-seeds-201-202-203.json"
    assert json.loads((tmp_path / "toy-full.json").read_text())["seeds"] == [0, 1, 2]  # untouched
    assert other.save(publish=True) == tmp_path / "toy-full.json"  # only when asked

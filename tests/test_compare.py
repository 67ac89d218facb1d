"""jepabook.compare: two records of one chapter, claim by claim."""

import json
import subprocess
import sys

import pytest

from jepabook.compare import compare_records, printed


def _record(values, verdict="reproduced", seeds=(0, 1, 2)):
    return {"chapter": "basics", "profile": "full", "seeds": list(seeds),
            "claims": [{"id": "basics.x", "measured": {"x": list(values)}, "verdict": verdict}]}


def test_identical_records_agree_in_everything():
    (row,) = compare_records(_record([0.1, 0.2, 0.3]), _record([0.1, 0.2, 0.3]))
    assert row.identical and row.same_printed and row.same_verdict and row.max_rel_diff == 0


def test_a_last_bit_difference_is_not_identical_but_prints_the_same():
    (row,) = compare_records(_record([0.1, 0.2, 0.3]), _record([0.1, 0.2, 0.30000000000000004]))
    assert not row.identical and row.same_printed and 0 < row.max_rel_diff < 1e-15


def test_a_visible_difference_and_a_changed_verdict_are_reported():
    (row,) = compare_records(_record([0.1, 0.2, 0.3]), _record([0.1, 0.2, 0.4], verdict="direction only"))
    assert not row.same_printed and not row.same_verdict
    assert row.max_rel_diff == pytest.approx(0.25)


def test_printed_is_three_significant_digits():
    assert printed([1.0, 2.0, 3.0]) == "2 ± 1"
    assert printed([0.1236, 0.1238]) == "0.124 ± 0.00014"


def test_unlike_records_are_refused_by_name():
    with pytest.raises(ValueError, match="'seeds'"):
        compare_records(_record([1, 2, 3]), _record([1, 2, 3], seeds=(3, 4, 5)))


def test_cli_exit_status_says_whether_verdicts_agree(tmp_path):
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    a.write_text(json.dumps(_record([0.1, 0.2, 0.3])))
    b.write_text(json.dumps(_record([0.1, 0.2, 0.3], verdict="not reproduced")))
    run = lambda x, y: subprocess.run([sys.executable, "-m", "jepabook", "compare", str(x), str(y)],
                                      capture_output=True, text=True)
    assert run(a, a).returncode == 0
    changed = run(a, b)
    assert changed.returncode == 1 and "CHANGED" in changed.stdout
    assert run(a, tmp_path / "missing.json").returncode == 2


def test_records_of_two_versions_compare_on_what_both_hold_and_name_the_rest(tmp_path):
    """A newer chapter may add a claim or read a claim on another arm: those are named, not refused."""
    from jepabook.compare import report, unmatched

    old = _record([0.1, 0.2, 0.3])
    new = _record([0.1, 0.2, 0.3])
    new["claims"][0]["measured"]["ceiling"] = [0.9, 0.9, 0.9]
    new["claims"].append({"id": "basics.y", "measured": {"y": [1.0, 1.0, 1.0]}, "verdict": "reproduced"})
    (row,) = compare_records(old, new)
    assert row.identical and row.same_verdict and row.only_in_one == ("ceiling",)
    assert unmatched(old, new) == ([], ["basics.y"])
    text = report([row], *unmatched(old, new))
    assert "only in the second record (not compared): basics.y" in text and "ceiling" in text
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    a.write_text(json.dumps(old))
    b.write_text(json.dumps(new))
    run = subprocess.run([sys.executable, "-m", "jepabook", "compare", str(a), str(b)], capture_output=True, text=True)
    assert run.returncode == 1 and "basics.y" in run.stdout  # a claim one record lacks is not agreement

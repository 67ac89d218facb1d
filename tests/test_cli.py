import json

import pytest

from jepabook.__main__ import main
from jepabook.core.rules import REPRODUCED


@pytest.mark.parametrize("argv, message", [
    (["run", "nowhere"], "chapter must be one of 'basics', 'ijepa', 'vjepa', 'crossjepa', 'lejepa'"),
    (["run", "ledger"], "the ledger runs no experiment"),
    (["run", "basics", "--profile", "huge"], "profile must be one of 'ci', 'full'; got 'huge'"),
    (["run", "basics", "--seeds", "1,,2"], "seeds must be distinct non-negative integers"),
    (["run", "basics", "--seeds", "1,1"], "seeds must be distinct non-negative integers"),
    (["run", "basics", "--seeds", "-1"], "seeds must be distinct non-negative integers"),
    (["run", "basics", "--workers", "0"], "workers must be a positive integer"),
])
def test_bad_arguments_exit_2_with_the_reason(argv, message, capsys):
    assert main(argv) == 2
    assert message in capsys.readouterr().err


def test_run_writes_results_and_json(tmp_path, monkeypatch, capsys):
    from jepabook.basics import experiment as basics

    tiny = basics.BasicsConfig(n_points=256, steps=30, log_every=10, batch=64, num_slices=16)
    monkeypatch.setitem(basics.PROFILES, "ci", tiny)
    out = tmp_path / "out.json"
    assert main(["run", "basics", "--profile", "ci", "--seeds", "0", "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "basics.sigreg_probe" in printed and "wrote" in printed
    data = json.loads(out.read_text())
    assert data["chapter"] == "basics" and data["profile"] == "ci" and data["seeds"] == [0]
    assert {"device", "mlx"} <= set(data["platform"]) and "tasks_wall" in data["timing_s"]
    for claim in data["claims"]:
        assert all(len(v) == 1 for v in claim["measured"].values())
        # one seed is never beyond noise, so nothing can be reproduced from it
        assert claim["verdict"] != REPRODUCED, claim["id"]
    assert {c["id"] for c in data["checks"]} == {"basics.meter", "basics.raw_probe", "basics.cigar", "basics.collapse_gradient",
                                                 "basics.ema"}
    stored = json.loads((tmp_path / "results" / "basics-ci-seeds-0.json").read_text())
    assert stored["claims"] == data["claims"]
    assert not (tmp_path / "results" / "basics-ci.json").exists()  # seed 0 alone is not the published run
    assert main(["run", "basics", "--profile", "ci", "--seeds", "0", "--publish"]) == 0
    assert json.loads((tmp_path / "results" / "basics-ci.json").read_text())["seeds"] == [0]

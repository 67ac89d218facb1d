"""Re-judging a committed record with the current claims (issue 25, item 8)."""

import json

import pytest

from jepabook import rejudge


def _record():
    five = lambda *v: list(v)  # noqa: E731
    return {"chapter": "basics", "profile": "full", "seeds": [0, 1, 2, 3, 4],
            "claims": [{"id": "basics.collapse", "kind": "claim", "verdict": "reproduced",
                        "measured": {"predict_scale": five(1e-4, 1e-4, 2e-4, 1e-4, 1e-4),
                                     "predict_r2": five(0.01, 0.02, 0.01, 0.0, 0.01)}},
                       {"id": "basics.sigreg_probe", "kind": "claim", "verdict": "reproduced",
                        "measured": {"sigreg_r2": five(0.8, 0.85, 0.9, 0.82, 0.88),
                                     "predict_r2": five(0.01, 0.02, 0.01, 0.0, 0.01),
                                     "raw_r2": five(0.05, 0.06, 0.05, 0.06, 0.02)}},
                       {"id": "basics.meter", "kind": "claim", "verdict": "not reproduced",
                        "measured": {"meter_collapsed": five(1, 1, 1, 1, 1)}}],
            "checks": []}


def test_rejudge_pools_measurements_and_says_what_moved(tmp_path, capsys):
    rows = {r["id"]: r for r in rejudge.rejudge(_record())}
    # collapse now reads raw_r2 too, which the record stored under another claim: pooled, so judged
    assert rows["basics.collapse"]["new"] == "reproduced" and rows["basics.collapse"]["moved_by"] == ""
    assert rows["basics.meter"]["kind"] == "check" and rows["basics.meter"]["moved_by"] == "now a check"
    # a measurement added since the record was made: skipped, by name, never a KeyError
    assert rows["basics.raw_probe"]["moved_by"] == "new item"
    assert rows["basics.meter"]["new"] == "skipped"
    path = tmp_path / "basics-full.json"
    path.write_text(json.dumps(_record()))
    assert rejudge.main([str(path)], str(tmp_path / "moved.json")) == 0
    assert "| `basics.meter` | check | not reproduced | skipped | now a check |" in capsys.readouterr().out
    assert json.loads((tmp_path / "moved.json").read_text())[0]["record"] == str(path)


def test_rejudge_rejects_an_unknown_chapter_and_a_missing_file():
    with pytest.raises(ValueError, match="record chapter must be one of"):
        rejudge.rejudge({**_record(), "chapter": "nope"})
    with pytest.raises(ValueError, match="record not found"):
        rejudge.main(["/nonexistent/record.json"])

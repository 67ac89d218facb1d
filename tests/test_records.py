"""The one reader of results records (jepabook.core.records) and the pooled analysis of the
published and verification seeds (jepabook.ledger.pooled)."""

import json

import pytest
from scipy import stats

from jepabook.core import records
from jepabook.core.claims import Claim
from jepabook.core.rules import Above, Greater
from jepabook.ledger import pooled


def _record(chapter="basics", seeds=(0, 1, 2), claims=(), config=None):
    return {"chapter": chapter, "profile": "full", "seeds": list(seeds), "claims": list(claims), "checks": [],
            "config": config or {}}


def test_record_names_for_published_and_other_seeds_and_bad_names_are_clear_errors(tmp_path):
    assert records.record_path("ijepa", "full", results=tmp_path) == tmp_path / "ijepa-full.json"
    assert records.record_name("ijepa", "ci", (5, 6)) == "ijepa-ci-seeds-5-6.json"
    with pytest.raises(ValueError, match="chapter must be one of 'basics'"):
        records.record_name("nowhere", "full")
    with pytest.raises(ValueError, match="profile must be one of"):
        records.record_name("basics", "huge")
    with pytest.raises(ValueError, match="seeds must be a non-empty list of integers"):
        records.record_name("basics", "full", [1, -2])
    with pytest.raises(ValueError, match="seeds must be"):
        records.record_name("basics", "full", [])
    assert records.record_name("toy", "full", known=False) == "toy-full.json"  # a writer may name a toy chapter
    with pytest.raises(ValueError, match="lower-case key"):
        records.record_name("../etc", "full", known=False)


def test_load_says_how_to_make_a_missing_record_and_refuses_what_is_not_one(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"make chapter NB=02_ijepa_masking PROFILE=full.*--seeds 5,6"):
        records.load_records("full", tmp_path, ["ijepa"], seeds=(5, 6))
    path = tmp_path / "ijepa-full.json"
    path.write_text("{not json")
    with pytest.raises(ValueError, match="invalid JSON"):
        records.load_record(path)
    path.write_text(json.dumps({"chapter": "ijepa"}))
    with pytest.raises(ValueError, match="needs the keys chapter, profile, seeds, claims"):
        records.load_record(path)
    path.write_text(json.dumps(_record("ijepa", seeds=(0, 1))))
    assert records.load_records("full", tmp_path, ["ijepa"])["ijepa"]["seeds"] == [0, 1]
    with pytest.raises(ValueError, match="expected 'ijepa' at 'full' on seeds \\[5\\]"):
        records.load_record(path, "ijepa", "full", seeds=[5])


def test_the_verdict_of_a_stored_claim_and_check():
    assert records.item_verdict({"id": "a.b", "verdict": "reproduced"}) == "reproduced"
    assert records.item_verdict({"id": "a.c", "kind": "check", "status": "pass"}) == "pass"
    with pytest.raises(ValueError, match="a.d: a stored check needs its 'status'"):
        records.item_verdict({"id": "a.d", "kind": "check", "verdict": "pass"})
    with pytest.raises(ValueError, match="kind must be 'claim' or 'check'"):
        records.item_verdict({"id": "a.e", "kind": "claimish"})


def _stored(cid, a, b, verdict):
    return {"id": cid, "kind": "claim", "measured": {"a": list(a), "b": list(b)}, "verdict": verdict}


CLAIM = Claim("basics.toy", "basics", "a beats b", "—", "—", "score", Greater("a", "b"), shown=("a", "b"))


def test_pooling_judges_the_claims_rule_on_both_records_seeds_and_never_replaces_a_verdict():
    d1, d2 = [0.9, -0.2, 0.6], [0.5, 0.1, 0.7]  # alone p ≈ 0.16 and 0.07; together p ≈ 0.02
    first = _record(claims=[_stored("basics.toy", [1 + d for d in d1], [1.0] * 3, "direction only")])
    second = _record(seeds=(5, 6, 7), claims=[_stored("basics.toy", [1 + d for d in d2], [1.0] * 3, "direction only")])
    (row,) = pooled.pool(first, second, {"basics.toy": CLAIM})
    expected = stats.ttest_1samp(d1 + d2, 0.0, alternative="greater").pvalue
    assert (row.published, row.other, row.pooled, row.n) == ("direction only", "direction only", "reproduced", 6)
    assert row.p == pytest.approx(expected) and row.moved
    assert first["claims"][0]["verdict"] == "direction only"  # the records are not touched
    assert pooled.pooled_counts([row]) == {"claims": 1, "pooled": 1, "moved": 1}


def test_what_cannot_be_pooled_says_why_by_name():
    first = _record(claims=[_stored("basics.toy", [2, 2, 2], [1, 1, 1], "reproduced")], config={"steps": 10})
    second = _record(seeds=(5, 6, 7), claims=[_stored("basics.toy", [2, 2, 2], [1, 1, 1], "reproduced")],
                     config={"steps": 10})
    assert pooled.pool(first, second, {})[0].reason == "the code no longer has this claim"
    stale = pooled.pool(first, second, {"basics.toy": CLAIM}, config={"steps": 20})[0]
    assert stale.pooled is None and "another configuration" in stale.reason
    same = pooled.pool(first, first, {"basics.toy": CLAIM})[0]
    assert same.pooled is None and same.reason == "seeds [0, 1, 2] are in both records"
    other = dict(second, claims=[{**second["claims"][0], "measured": {"a": [2, 2, 2]}}])
    assert pooled.pool(first, other, {"basics.toy": CLAIM})[0].reason == "not measured in both records: b"
    wide = Claim("basics.toy", "basics", "s", "—", "—", "m", Greater("a", "b"), precondition=Above("c", 0.0))
    assert "c" in pooled.pool(first, second, {"basics.toy": wide})[0].reason
    with pytest.raises(ValueError, match="records differ in 'chapter'"):
        pooled.pool(first, _record("ijepa"), {})


def test_the_committed_records_pool_with_the_code_that_made_them():
    published = records.load_records("full", _results(), ["basics"])["basics"]
    other = records.load_records("full", _results(), ["basics"], seeds=(5, 6, 7, 8, 9))["basics"]
    rows = pooled.pool(published, other)
    assert [r.id for r in rows] == [c["id"] for c in published["claims"]]
    assert all(r.pooled is not None and r.n == 10 for r in rows), [r.reason for r in rows]


def _results():
    from pathlib import Path

    return Path(__file__).resolve().parents[1] / "results"


def test_a_record_stores_the_number_its_findings_box_shows(tmp_path, monkeypatch):
    from jepabook.core.claims import ClaimResult
    from jepabook.core.results import ChapterRun

    monkeypatch.setenv("JEPABOOK_RESULTS", str(tmp_path))
    result = ClaimResult.of(CLAIM, {"a": [2.0, 2.1, 2.2], "b": [1.0, 1.0, 1.1]})
    run = ChapterRun("basics", "full", [0, 1, 2], [result], platform={})
    (row,) = run.findings().rows
    assert repr(run.findings()).splitlines()[1] == f"[reproduced] basics.toy: {row.decided}"
    stored = records.load_record(run.save(), "basics", "full", [0, 1, 2])
    assert stored["claims"][0]["decided"] == row.decided == "difference +1.07; p < 0.001"
    assert run.save().name == "basics-full-seeds-0-1-2.json"  # not full's published seeds: never the published name

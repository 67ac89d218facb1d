"""Chapter 6's ledger: counts, rows, links and verification, on made-up records and on the committed ones."""

import json
import re
from pathlib import Path

import nbformat
import pytest

from jepabook.__main__ import main as cli
from jepabook.core.chapters import CHAPTERS, STEMS
from jepabook.core.render import claim_anchor
from jepabook.core.config import PROFILE_NAMES, published_seeds
from jepabook.ledger import table, verify

ROOT = Path(__file__).resolve().parents[1]
EXECUTED = {"full": ROOT / "book" / "executed", "ci": ROOT / "tests" / "notebooks"}
RESULTS = ROOT / "results"  # the committed records (the autouse fixture points JEPABOOK_RESULTS elsewhere)


def _claim(cid, verdict, p=0.01, arms=("a", "b"), **extra):
    out = {"id": cid, "kind": "claim", "statement": f"statement of {cid}", "paper": "1.0", "laptop": "—",
           "metric": "m", "measured": {a: [1.0, 2.0, 3.0] for a in arms}, "rule": "a > b", "shown": list(arms),
           "digits": 2, "verdict": verdict, "p": p, "se": 0.25, "detectable": 0.75, "null_rate": 0.05}
    out.update(extra)
    return out


def _check(cid, status):
    return {"id": cid, "kind": "check", "statement": "s", "reference": "r", "metric": "m",
            "measured": {"x": [1.0, 1.0, 1.0]}, "rule": "x > 0", "shown": ["x"], "digits": 2, "status": status}


def _record(chapter, claims, checks=(), profile="full", seeds=(0, 1, 2)):
    return {"chapter": chapter, "profile": profile, "seeds": list(seeds), "platform": {}, "timing_s": {},
            "claims": list(claims), "checks": list(checks), "config": {}}


RECORDS = {
    "basics": _record("basics", [_claim("basics.one", "reproduced"), _claim("basics.two", "not reproduced", p=0.9)],
                      [_check("basics.c1", "pass"), _check("basics.c2", "fail")]),
    "ijepa": _record("ijepa", [_claim("ijepa.three", "direction only", p=0.2),
                               _claim("ijepa.four", "not testable here",
                                      precondition={"rule": "pre > 0.3", "text": "the teacher encodes pose",
                                                    "holds": False}),
                               _claim("ijepa.five", "reproduced", p=1e-5)]),
}


def test_counts_per_chapter_and_overall_and_checks_apart():
    c = table.counts(RECORDS)
    assert c["basics"] == {"reproduced": 1, "direction only": 0, "not reproduced": 1, "not testable here": 0,
                           "skipped": 0, "claims": 2, "checks pass": 1, "checks fail": 1}
    assert c["ijepa"]["reproduced"] == 1 and c["ijepa"]["not testable here"] == 1 and c["ijepa"]["claims"] == 3
    assert c["all"]["claims"] == 5 and c["all"]["reproduced"] == 2 and c["all"]["checks pass"] == 1
    assert sum(c["all"][v] for v in (*table.COUNTED, "skipped")) == c["all"]["claims"]


def test_counts_refuse_a_verdict_the_book_does_not_know():
    bad = {"basics": _record("basics", [_claim("basics.one", "sort of")])}
    with pytest.raises(ValueError, match="unknown verdicts"):
        table.counts(bad)


def test_rows_format_the_chapters_arms_and_noise_and_link_to_the_claims_row():
    rows = table.claim_rows(RECORDS)
    first = rows[0]
    assert first.measured == "a 2.00 ± 1.00; b 2.00 ± 1.00 (n=3)"
    assert first.noise == "SE 0.25; detectable ≥ 0.75; p = 0.010"
    assert rows[-1].noise == "SE 0.25; detectable ≥ 0.75; p < 0.001"
    assert table.claim_rows(RECORDS, coarse=True)[0].noise == "p < 0.05"
    assert first.href == f"{STEMS['basics']}.html#claim-basics-one"
    assert table.claim_rows(RECORDS, coarse=True)[0].measured == "a, b (n=3)"  # ci: words only
    assert "FAILS" in rows[3].precondition and "pose" in rows[3].precondition
    assert rows[3].decided == "precondition fails"  # an old record without "decided": the fallback says why
    assert first.decided == "p = 0.010" and first.gate == "no gate declared" and first.label == "basics.one"
    only_a = table.claim_rows({"basics": _record("basics", [_claim("basics.one", "reproduced", shown=["a"])])})
    assert only_a[0].measured == "a 2.00 ± 1.00 (n=3)"


def test_rows_read_the_label_rule_text_gate_and_deciding_number_a_record_stores():
    gate = {"holds": False, "kind": "headroom", "allowed_mean": 6.3, "allowed_lcb": 2.5, "detectable": 8.9,
            "fixed": True, "text": "the supervised ceiling above untrained"}
    item = _claim("basics.one", "not testable here", label="training beats untrained", rule_text="trained > untrained",
                  decided="toy allows ≤ 2.50, seeds detect ≥ 8.90", gate=gate)
    (row,) = table.claim_rows({"basics": _record("basics", [item])})
    assert (row.label, row.rule, row.decided) == ("training beats untrained", "trained > untrained",
                                                  "toy allows ≤ 2.50, seeds detect ≥ 8.90")
    assert row.gate == ("not a fair test: the supervised ceiling above untrained: allowed 6.30 (lower bound 2.50) "
                        "against detectable 8.90; one fixed value for every seed")
    html = table.LedgerTable({"basics": _record("basics", [item])})._repr_html_()
    assert "<dt>fair test?</dt>" in html and ">training beats untrained</a>" in html


def test_ledger_table_puts_the_verdict_second_and_keeps_checks_apart():
    t = table.LedgerTable(RECORDS)
    html = t._repr_html_()
    claims_html, checks_html = html.split("<b>Checks</b>")
    heads = re.findall(r"<th class='\w+'>(.*?)</th>", claims_html)
    assert heads[:3] == ["claim", "verdict", "ours"]
    for cid in ("basics.one", "ijepa.five"):
        assert f"href='{STEMS[cid.split('.')[0]]}.html#{claim_anchor(cid)}'" in claims_html
    assert "basics.c1" in checks_html and "basics.c1" not in claims_html
    text = repr(t)
    assert text == repr(table.LedgerTable(RECORDS))  # deterministic: nbval compares it
    assert text.splitlines()[:2] == ["[reproduced] basics.one: p = 0.010", "    fair test? no gate declared"]
    assert "    precondition (the teacher encodes pose): FAILS" in text.splitlines()
    assert "checks (not counted as reproductions):" in text


def test_counts_figure_draws_one_bar_per_chapter_and_the_total():
    import matplotlib.pyplot as plt

    fig = table.counts_figure(table.counts(RECORDS))
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["basics", "ijepa", "all"]
    widths = sorted(round(p.get_width()) for p in ax.patches if p.get_width() > 0)
    assert sum(widths) == 2 * table.counts(RECORDS)["all"]["claims"] - table.counts(RECORDS)["all"]["skipped"] * 2
    plt.close(fig)


def test_load_records_says_how_to_make_a_missing_record_and_refuses_a_wrong_one(tmp_path):
    with pytest.raises(FileNotFoundError, match="make chapter NB=01_jepa_basics PROFILE=full"):
        table.load_records("full", tmp_path, ["basics"])
    (tmp_path / "basics-full.json").write_text(json.dumps(_record("ijepa", [])))
    with pytest.raises(ValueError, match="expected 'basics' at 'full'"):
        table.load_records("full", tmp_path, ["basics"])
    with pytest.raises(ValueError, match="profile must be one of"):
        table.record_path("basics", "fast")
    with pytest.raises(ValueError, match="chapter must be one of"):
        table.record_path("ledger", "full")


def test_agreement_finds_flips_and_refuses_unlike_records():
    other = json.loads(json.dumps(RECORDS["ijepa"]))
    other["seeds"] = [5, 6, 7]
    other["claims"][2]["verdict"] = "direction only"
    rows = verify.agreement(RECORDS["ijepa"], other)
    assert [r.agrees for r in rows] == [True, True, False]
    assert verify.summary(rows) == {"claims": 3, "claims agree": 2, "checks": 0, "checks agree": 0}
    text = verify.report(rows, [0, 1, 2], [5, 6, 7])
    assert "ijepa.five" in text and text.count("FLIPS") == 1 and "not independent" not in text
    assert "not independent" in verify.report(rows, [0, 1, 2], [2, 3, 4])
    other["claims"].pop()
    with pytest.raises(ValueError, match="different claims"):
        verify.agreement(RECORDS["ijepa"], other)
    loose = verify.agreement(RECORDS["ijepa"], other, strict=False)  # only the claims both records hold
    assert len([r for r in loose if r.kind == "claim"]) == len(other["claims"])
    assert verify.unmatched(RECORDS["ijepa"], other) == [RECORDS["ijepa"]["claims"][-1]["id"]]
    with pytest.raises(ValueError, match="differ in 'chapter'"):
        verify.agreement(RECORDS["ijepa"], RECORDS["basics"])


@pytest.mark.parametrize("chapter", [None, "basics", "crossjepa"])
@pytest.mark.parametrize("profile", PROFILE_NAMES)
def test_verification_seeds_are_disjoint_from_the_published_ones(profile, chapter):
    seeds = verify.verify_seeds(profile, chapter)
    assert len(seeds) == len(published_seeds(profile, chapter))
    assert not set(seeds) & set(published_seeds(profile, chapter))


def test_verify_command_compares_a_saved_record_and_rejects_bad_input(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("JEPABOOK_RESULTS", str(tmp_path))
    published = _record("basics", [_claim("basics.one", "reproduced")], seeds=published_seeds("full"))
    (tmp_path / "basics-full.json").write_text(json.dumps(published))
    other = dict(published, seeds=[5, 6, 7, 8, 9], claims=[_claim("basics.one", "not reproduced", p=0.7)])
    path = tmp_path / "other.json"
    path.write_text(json.dumps(other))
    assert cli(["verify", "basics", "--record", str(path)]) == 0
    out = capsys.readouterr().out
    assert "FLIPS" in out and "0/1 claim verdicts agree" in out
    assert cli(["verify", "basics", "--record", str(path), "--seeds", "5,6"]) == 2
    assert "--seeds or --record" in capsys.readouterr().err
    assert cli(["verify", "ledger"]) == 2
    assert "runs no experiment" in capsys.readouterr().err
    assert cli(["verify", "basics", "--profile", "fast"]) == 2
    assert "profile must be one of" in capsys.readouterr().err
    assert cli(["verify", "basics", "--workers", "0"]) == 2


def _glued(notebook: Path) -> dict[str, str]:
    nb = nbformat.read(str(notebook), as_version=4)
    out = {}
    for cell in nb.cells:
        for o in cell.get("outputs", []):
            meta = o.get("metadata", {}).get("scrapbook")
            if meta:
                out[meta["name"]] = o["data"].get("application/papermill.record/text/plain")
    return out


@pytest.mark.parametrize("profile", PROFILE_NAMES)
def test_the_executed_ledger_agrees_with_the_committed_records(profile):
    """A chapter re-run whose verdicts moved, without the ledger re-executed, fails here."""
    glued = _glued(EXECUTED[profile] / f"{STEMS['ledger']}.ipynb")
    c = table.counts(table.load_records("full", RESULTS))["all"]  # both profiles read the published records
    assert glued["n_chapters"] == str(len(CHAPTERS))
    assert glued["n_claims"] == str(c["claims"])
    assert glued["n_reproduced"] == str(c["reproduced"])
    assert glued["n_direction"] == str(c["direction only"])
    assert glued["n_not_reproduced"] == str(c["not reproduced"])
    assert glued["n_not_testable"] == str(c["not testable here"])
    assert glued["n_checks_pass"] == str(c["checks pass"])
    total = 0
    agree = 0
    for chapter in CHAPTERS:
        _, other, rows = verify.load_verification(chapter, "full", RESULTS)
        assert other is not None, f"no verification record for {chapter}: run `python -m jepabook verify {chapter}`"
        total += verify.summary(rows)["claims"]
        agree += verify.summary(rows)["claims agree"]
    assert glued["verify_claims"] == str(total) and glued["verify_agree"] == str(agree)


@pytest.mark.parametrize("chapter", sorted(CHAPTERS))
def test_every_ledger_link_lands_on_a_row_of_its_chapter(chapter):
    """Each claim's and check's row in the executed chapter carries the id the ledger links to."""
    record = table.load_records("full", RESULTS, [chapter])[chapter]
    nb = (EXECUTED["full"] / f"{STEMS[chapter]}.ipynb").read_text(encoding="utf-8")
    missing = [item["id"] for item in record["claims"] + record["checks"] if f"id='{claim_anchor(item['id'])}'" not in nb]
    assert not missing, f"{STEMS[chapter]}.ipynb has no row for {missing}: re-execute it"


def test_the_ledger_source_has_a_section_for_every_audit_item_and_glues_each():
    from jepabook.ledger import audit

    source = (ROOT / "book" / f"{STEMS['ledger']}.md").read_text(encoding="utf-8")
    for item in audit.AUDIT:
        assert f"### {item.title}\n" in source, item.id
        assert f"{{glue:md}} audit_{item.id}" in source, item.id


def test_declared_records_cover_every_chapter_and_reject_unknown_ones():
    from jepabook.ledger import declared

    assert set(declared.deviations()) == set(CHAPTERS) == set(declared.untested()) == set(declared.scales())
    with pytest.raises(ValueError, match="chapter must be one of"):
        declared.declared("nowhere")


def test_every_ledger_row_has_a_verdict_cell_the_browser_check_finds():
    html = table.LedgerTable(RECORDS)._repr_html_()
    assert html.count("<td class='verdict'>") == html.count("<tr class='claim-row'>") == 5 + 2
    assert html.count("<tr class='claim-detail'><td colspan='3'><details>") == 5 + 2


def test_an_old_record_gets_its_deciding_number_from_the_codes_claim_only_when_the_verdicts_agree():
    from jepabook.core.claims import Claim
    from jepabook.core.rules import Greater

    claim = Claim("basics.one", "basics", "s", "—", "—", "m", Greater("a", "b"), shown=("a", "b"))
    item = _claim("basics.one", "reproduced", measured={"a": [2.0, 2.1, 2.2], "b": [1.0, 1.0, 1.1]})
    (row,) = table.claim_rows({"basics": _record("basics", [item])}, claims={"basics.one": claim})
    assert row.decided == "difference +1.07; p < 0.001"
    other_rules = dict(item, verdict="not reproduced")  # the code would judge these values otherwise
    (row,) = table.claim_rows({"basics": _record("basics", [other_rules])}, claims={"basics.one": claim})
    assert row.decided == "p = 0.010"  # the stored p, not the code's reading


def test_control_records_are_read_and_reported(tmp_path):
    import json

    from jepabook.ledger import verify

    assert verify.load_controls(tmp_path) == {}
    record = {"chapter": "lejepa", "control": {"what": "paper-size control", "command": "python x.py"},
              "claims": [{"id": "lejepa.t1_spiral", "verdict": "direction only", "measured": {"spiral": [0.91234]}},
                         {"id": "lejepa.regime_good", "verdict": "skipped", "measured": {}}]}
    (tmp_path / "lejepa-control.json").write_text(json.dumps(record), encoding="utf-8")
    (tmp_path / "lejepa-full.json").write_text("{}", encoding="utf-8")  # not a control
    controls = verify.load_controls(tmp_path)
    assert list(controls) == ["lejepa"]
    text = verify.control_report(controls["lejepa"])
    assert "made by: python x.py" in text and "t1_spiral: direction only (spiral 0.912)" in text
    assert "regime_good" not in text


def test_a_control_run_gets_its_chapters_own_summary_where_it_has_one():
    from jepabook.ledger import verify
    from jepabook.lejepa import analysis as lejepa_analysis

    control = {"what": "paper-size control", "command": "python x.py",
               "runs": {"t1/spiral": {"r2_hz": 0.98765}, "t2/alpha=2": {"r2_hz": 0.5}},
               "t2_alphas": [2.0], "t2_r2grid": [0.9876]}
    record = {"chapter": "lejepa", "control": control}
    summary = verify.control_summary("lejepa", record)
    assert summary == lejepa_analysis.control_summary(record) and "spiral 0.988" in summary
    assert verify.control_summary("basics", {"control": control}) is None  # no summary of its own
    assert verify.control_summary("no_such_chapter", record) is None

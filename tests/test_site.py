"""The site's pieces that need no browser: claims-table HTML, the site configuration, the
bibliography labels, the duplicate-script filter."""

import re

import pytest
from scipy import stats

from jepabook.core.claims import Check, CheckResult, Claim, ClaimResult
from jepabook.core.render import ClaimsTable, claim_anchor
from jepabook.core.rules import Below, Greater
from jepabook.sphinx_site import _one_of_each_script, author_year_label
from jepabook.sphinx_site.config import github_url, lab_settings, site_config


def _claim(name, rule=Greater("a", "b")):
    return Claim(f"toy.{name}", "toy", f"{name} holds", "paper", "—", "score", rule, shown=("a", "b"))


def _results(names, a=(2.0, 2.1, 2.2, 2.3, 2.4)):
    return [ClaimResult.of(_claim(n), {"a": list(a), "b": [1.0] * len(a)}) for n in names]


def test_three_columns_claim_verdict_number_and_the_rest_folds_into_a_detail_row():
    check = CheckResult.of(Check("toy.c", "toy", "x small", "ref", "x", Below("x", 1.0), shown=("x",)), {"x": [0.1, 0.2]})
    html = ClaimsTable(_results(["one"]), [check])._repr_html_()
    for table in re.findall(r"<table class='(?:claims|checks)-table'>.*?</table>", html):
        heads = re.findall(r"<th class='\w+'>(.*?)</th>", table)
        assert heads in (["claim", "verdict", "ours"], ["check", "result", "measured"])
        cells = re.findall(r"<td class='(\w+)'", table)
        assert cells == ["claim", "verdict", "ours"]  # one row of main cells; the detail row spans them
        assert table.count("<tr class='claim-detail'><td colspan='3'><details>") == 1
    assert f"<tr id='{claim_anchor('toy.one')}' class='claim-row'>" in html
    assert f"<tr id='{claim_anchor('toy.c')}' class='claim-row'>" in html
    row = re.search(r"<td class='ours'>(.*?)</td>", html).group(1)
    assert row == "difference +1.20; p\u00a0<\u00a00.001".replace("<", "&lt;")  # the one number, unbroken
    detail = re.search(r"<dl class='claim-facts'>(.*?)</dl>", html).group(1)
    facts = dict(re.findall(r"<dt>(.*?)</dt><dd>(.*?)</dd>", detail))
    assert list(facts) == ["statement", "rule", "fair test?", "measured", "metric", "noise", "paper", "laptop"]
    assert facts["rule"] == "a &gt; b (paired)" and facts["fair test?"] == "no gate declared"
    assert facts["measured"].startswith("a 2.20 ± 0.16")


def test_label_rule_text_and_gate_are_read_where_a_claim_has_them(monkeypatch):
    from types import SimpleNamespace

    from jepabook.core.render import Row

    result = _results(["one"])[0]
    labelled = SimpleNamespace(**{f: getattr(result.claim, f) for f in ("id", "statement", "paper", "laptop",
                                                                          "metric", "rule", "digits", "precondition")},
                               label="trained beats untrained", rule_text="trained > untrained (paired)")
    gate = SimpleNamespace(holds=False, kind="headroom", allowed_mean=6.3, allowed_lcb=2.5, detectable=8.9,
                           fixed=False, text="headroom above untrained")
    r = SimpleNamespace(claim=labelled, verdict="not testable here", measured=result.measured, p=result.p, gate=gate,
                        ours=result.ours, noise_text=result.noise_text, precondition_text=lambda coarse=False: "")
    row = Row.of_result(r)
    assert (row.label, row.rule) == ("trained beats untrained", "trained > untrained (paired)")
    assert row.decided == "toy allows ≤ 2.50, seeds detect ≥ 8.90"
    assert row.gate.startswith("not a fair test: headroom above untrained: allowed 6.30 (lower bound 2.50)")
    plain = Row.of_result(result)  # today's claims: no label, no rule text, no gate
    assert (plain.label, plain.rule, plain.gate) == ("toy.one", "a > b (paired)", "no gate declared")


def test_findings_box_names_each_claim_its_verdict_and_the_number_that_decided_it():
    from jepabook.core.rules import AllOf, Above

    good = ClaimResult.of(_claim("good"), {"a": [2.0, 2.1, 2.2, 2.3, 2.4], "b": [1.0] * 5})
    weak = ClaimResult.of(_claim("weak"), {"a": [1.0, 2.0, 0.5, 1.5, 1.4], "b": [1.0] * 5})
    wrong = ClaimResult.of(_claim("wrong", AllOf((Greater("a", "b"), Above("a", 3.0)))),
                           {"a": [2.0, 2.1, 2.2, 2.3, 2.4], "b": [1.0] * 5})
    blocked = ClaimResult.of(Claim("toy.blocked", "toy", "s", "p", "—", "m", Greater("a", "b"), shown=("a", "b"),
                                   precondition=Above("b", 2.0)), {"a": [2.0, 2.1, 2.2], "b": [1.0, 1.1, 0.9]})
    box = ClaimsTable([good, weak, wrong, blocked]).findings()
    p_weak = stats.ttest_1samp([0.0, 1.0, -0.5, 0.5, 0.4], 0.0, alternative="greater").pvalue  # paired, one-sided
    assert repr(box).splitlines() == [
        "Findings: 4 claims: 1 reproduced, 1 direction only, 1 not reproduced, 1 not testable here",
        "[reproduced] toy.good: difference +1.20; p < 0.001",
        f"[direction only] toy.weak: difference +0.28; p = {p_weak:.3f}",
        "[not reproduced] toy.wrong: 2.20 (needs > 3)",  # the failing part of the rule, not the passing one
        "[not testable here] toy.blocked: precondition fails: 1.000 (needs > 2)"]
    html = box._repr_html_()
    assert html.count("<li>") == 4 and f"href='#{claim_anchor('toy.good')}'" in html
    assert f"p\u00a0=\u00a0{p_weak:.3f}" in html  # never broken between p and its value
    assert ClaimsTable([good], coarse=True).findings().rows[0].decided == "difference positive; p < 0.05"  # ci: words


def test_summary_counts_every_verdict_and_the_checks():
    results = _results(["one", "two"]) + [ClaimResult.of(_claim("three"), {"a": [0.0, 0.1], "b": [1.0, 1.0]})]
    check = CheckResult.of(Check("toy.c", "toy", "x small", "ref", "x", Below("x", 1.0), shown=("x",)), {"x": [0.1, 2.0]})
    text = ClaimsTable(results, [check]).summary()
    assert text == "3 claims: 2 reproduced, 0 direction only, 1 not reproduced; 0 of 1 check pass"
    assert ClaimsTable(_results(["one"])).summary() == "1 claim: 1 reproduced, 0 direction only, 0 not reproduced"


def test_a_long_table_comes_in_collapsed_groups_with_their_counts():
    names = ["t1_a", "t1_b", "t1_c", "t2_a", "t3_a", "regime_a", "regime_b", "regime_c", "floor"]
    table = ClaimsTable(_results(names))
    assert len(names) > table.group_above
    assert [k for k, _ in table.groups()] == ["t1", "t2", "t3", "regime", "floor"]
    html = table._repr_html_()
    assert html.count("<details class='claims-group'>") == 5 and "<details class='claims-group' open" not in html
    assert "<b>t1</b>: 3 claims: 3 reproduced" in html
    assert html.index("claims-summary") < html.index("<details")  # the summary line comes first
    assert all(f"id='{claim_anchor('toy.' + n)}'" in html for n in names)  # every row keeps its anchor
    mixed = ClaimsTable([ClaimResult.of(Claim(f"{ch}.x_{i}", ch, "s", "p", "—", "m", Greater("a", "b"), shown=("a", "b")),
                                        {"a": [2.0, 2.1], "b": [1.0, 1.0]}) for ch in ("basics", "ijepa") for i in range(5)])
    assert [k for k, _ in mixed.groups()] == ["basics", "ijepa"]  # a ledger groups by chapter
    short = ClaimsTable(_results(names[:3]))._repr_html_()
    assert "<details class='claims-group'" not in short and short.count("<table class='claims-table'>") == 1


def test_the_plain_text_table_is_short_and_says_what_decided():
    text = repr(ClaimsTable(_results(["one"])))
    assert text.splitlines() == ["[reproduced] toy.one: one holds", "    decided by: difference +1.20; p < 0.001",
                                 "    ours: a 2.20 ± 0.16; b 1.00 ± 0.00 (n=5)", "    rule: a > b (paired)"]


def test_site_config_adds_buttons_only_with_a_github_repository():
    base = {"title": "t", "html": {"use_issues_button": False}}
    assert site_config(base, "") == base
    config = site_config(base, "https://github.com/me/book", "main")
    assert config["repository"] == {"url": "https://github.com/me/book", "branch": "main", "path_to_book": ""}
    assert config["html"]["use_issues_button"] and config["html"]["use_repository_button"]
    assert set(config["launch_buttons"]) >= {"binderhub_url", "colab_url"}
    assert config["parse"]["myst_substitutions"]["repository"].startswith("[https://github.com/me/book]")
    assert base == {"title": "t", "html": {"use_issues_button": False}}  # not modified
    with pytest.raises(ValueError, match="repository must be"):
        site_config(base, "https://gitlab.com/me/book")
    with pytest.raises(ValueError, match="branch must be"):
        site_config(base, "https://github.com/me/book", "main; rm -rf /")


@pytest.mark.parametrize("remote, url", [
    ("git@github.com:me/book.git", "https://github.com/me/book"),
    ("https://github.com/me/book.git", "https://github.com/me/book"),
    ("https://github.com/me/book", "https://github.com/me/book"),
    ("ssh://git@github.com/me/book.git\n", "https://github.com/me/book"),
    ("/work/site", ""), ("https://gitlab.com/me/book.git", ""),
])
def test_github_url_of_a_remote(remote, url):
    assert github_url(remote) == url


def test_lab_opens_markdown_as_notebooks():
    viewers = lab_settings()["@jupyterlab/docmanager-extension:plugin"]["defaultViewers"]
    assert viewers["markdown"] == "Jupytext Notebook"


def test_bibliography_labels_are_author_year():
    from pybtex.database import Entry, Person

    def entry(*authors, year="2023"):
        e = Entry("article", fields={"year": year, "title": "T"})
        e.persons["author"] = [Person(a) for a in authors]
        return e

    assert author_year_label(entry("LeCun, Yann", year="2022")) == "LeCun, 2022"
    assert author_year_label(entry("Balestriero, Randall", "LeCun, Yann", year="2025")) == "Balestriero and LeCun, 2025"
    assert author_year_label(entry("Assran, Mahmoud", "Duval, Quentin", "Misra, Ishan")) == "Assran et al., 2023"
    assert author_year_label(entry("Cram{\\'e}r, Harald", "Wold, Herman", year="1936")) == "Cramér and Wold, 1936"


def test_one_copy_of_each_inline_script():
    from sphinx.builders.html._assets import _JavaScript

    ctx = {"script_files": [_JavaScript(None, body="const A = 1"), _JavaScript("", body="const A = 1"),
                            _JavaScript("x.js"), _JavaScript("x.js", defer="defer")]}
    _one_of_each_script(None, "page", "page.html", ctx, None)
    assert len(ctx["script_files"]) == 3


def test_numbers_and_relations_in_a_cell_never_break():
    from jepabook.core.tables import _cell

    assert _cell("difference -1.3e-02; p = 0.05") == "difference \u22121.3e\u221202; p\u00a0=\u00a00.05"
    assert _cell("(-2) > 1") == "(\u22122)\u00a0&gt;\u00a01"
    assert _cell("ranges 3-4 and x-ray stay") == "ranges 3-4 and x-ray stay"  # a hyphen between words stays one

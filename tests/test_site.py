"""The site's pieces that need no browser: claims-table HTML, the site configuration, the
bibliography labels, the duplicate-script filter."""

import re

import pytest

from jepabook.core.claims import Check, CheckResult, Claim, ClaimResult
from jepabook.core.render import ClaimsTable, claim_anchor
from jepabook.core.rules import Below, Greater
from jepabook.sphinx_site import _one_of_each_script, author_year_label
from jepabook.sphinx_site.config import github_url, lab_settings, site_config


def _claim(name, rule=Greater("a", "b")):
    return Claim(f"toy.{name}", "toy", f"{name} holds", "paper", "—", "score", rule, shown=("a", "b"))


def _results(names, a=(2.0, 2.1, 2.2, 2.3, 2.4)):
    return [ClaimResult.of(_claim(n), {"a": list(a), "b": [1.0] * len(a)}) for n in names]


def test_the_verdict_is_the_second_column_and_measurement_and_rule_have_cells_of_their_own():
    check = CheckResult.of(Check("toy.c", "toy", "x small", "ref", "x", Below("x", 1.0), shown=("x",)), {"x": [0.1, 0.2]})
    html = ClaimsTable(_results(["one"]), [check])._repr_html_()
    for table in re.findall(r"<table class='(?:claims|checks)-table'>.*?</table>", html):
        heads = re.findall(r"<th[^>]*>(.*?)</th>", table)
        assert heads[1] in ("verdict", "result")
        cells = re.findall(r"<td class='(\w+)'", table)
        assert cells[:4] == ["claim", "verdict", "ours", "rule"]
    assert f"<tr id='{claim_anchor('toy.one')}'>" in html and f"<tr id='{claim_anchor('toy.c')}'>" in html
    row = re.search(r"<td class='ours'>(.*?)</td>", html).group(1)
    assert "rule" not in row and "a 2.2" in row  # the measurement alone; the rule is the next cell


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
    assert "<details" not in short and short.count("<table class='claims-table'>") == 1


def test_the_plain_text_table_is_unchanged_in_form():
    text = repr(ClaimsTable(_results(["one"])))
    assert text.splitlines()[0] == "[reproduced] toy.one: one holds"


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

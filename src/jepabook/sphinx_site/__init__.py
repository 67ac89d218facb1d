"""The book's Sphinx extension: what the site needs beyond Jupyter Book's defaults.

- the claims tables' stylesheet and a script that opens a collapsed group of claims when a link
  (Chapter 6's ledger) points into it (``static/``);
- one copy of each inline script: sphinx-thebe registers its configuration once per build
  environment, and Jupyter Book's build gives it two, so every page declared ``const THEBE_JS_URL``
  twice, a JavaScript error;
- the favicon, so that browsers do not ask for a missing ``/favicon.ico``;
- one book title in the browser's title bar: the root page's title is the book's, and the theme
  wrote "JEPA, rebuilt small — JEPA, rebuilt small" (``templates/layout.html``);
- a first visit's colour mode ("auto"), which the theme otherwise logs as a console error;
- the bibliography style ``jepabook`` (``bibtex_default_style``): the list is labelled the way the
  text cites, "Assran et al., 2023", not with alpha labels ("ADM+23"), and sorted by author and year;
  an entry's ``eprint`` links to arXiv (pybtex's ``unsrt`` formatting does that).

Loaded through ``sphinx: extra_extensions`` in ``_config.yml``.
"""

from __future__ import annotations

from pathlib import Path

STATIC = Path(__file__).resolve().parent / "static"
TEMPLATES = Path(__file__).resolve().parent / "templates"


def _add_static(app, config) -> None:
    config.html_static_path = [*config.html_static_path, str(STATIC)]
    config.templates_path = [*config.templates_path, str(TEMPLATES)]
    if not config.html_favicon:
        config.html_favicon = str(STATIC / "favicon.svg")


def _one_of_each_script(app, pagename, templatename, context, doctree) -> None:
    scripts = context.get("script_files")
    if not scripts:
        return
    seen, kept = set(), []
    for script in scripts:
        # an inline script is registered with filename None or "" (sphinx-thebe's came once of each)
        key = (str(getattr(script, "filename", script) or ""), getattr(script, "priority", 500),
               tuple(sorted((k, str(v)) for k, v in getattr(script, "attributes", {}).items())))
        if key not in seen:
            seen.add(key)
            kept.append(script)
    scripts[:] = kept


def author_year_label(entry) -> str:
    """"Last, 2022", "Last and Other, 2025", "Last et al., 2023" (the text's author–year citations)."""
    people = entry.persons.get("author") or entry.persons.get("editor") or []

    def last(person) -> str:
        from pybtex.richtext import Text

        return Text.from_latex(" ".join(person.prelast_names + person.last_names)).render_as("text")

    if not people:
        names = entry.fields.get("title", entry.key)
    elif len(people) == 1:
        names = last(people[0])
    elif len(people) == 2:
        names = f"{last(people[0])} and {last(people[1])}"
    else:
        names = f"{last(people[0])} et al."
    return f"{names}, {entry.fields.get('year', 'n.d.')}"


def _register_bibliography_style() -> None:
    from pybtex.plugin import register_plugin
    from pybtex.style.formatting.unsrt import Style as Unsrt
    from pybtex.style.labels import BaseLabelStyle

    class AuthorYearLabels(BaseLabelStyle):
        def format_labels(self, sorted_entries):
            plain = [author_year_label(e) for e in sorted_entries]
            for i, label in enumerate(plain):  # two papers of one author and year: 2023a, 2023b
                same = [j for j, other in enumerate(plain) if other == label]
                yield label + "abcdefghijklmnopqrstuvwxyz"[same.index(i)] if len(same) > 1 else label

    class JepabookStyle(Unsrt):
        default_label_style = "jepabook_author_year"
        default_sorting_style = "author_year_title"

    register_plugin("pybtex.style.labels", "jepabook_author_year", AuthorYearLabels, force=True)
    register_plugin("pybtex.style.formatting", "jepabook", JepabookStyle, force=True)


def setup(app):
    _register_bibliography_style()
    app.connect("config-inited", _add_static)
    app.add_css_file("jepabook.css")
    app.add_js_file("jepabook.js", defer="defer")
    # pydata-sphinx-theme 0.17 starts a first visit (nothing in localStorage) at mode "", which its
    # script then rejects with a console error; start it at "auto", what it falls back to anyway
    app.add_js_file(None, body='if (!document.documentElement.dataset.mode) '
                               '{ document.documentElement.dataset.mode = "auto"; }', priority=1)
    # early: html-page-context stops at the first handler that returns a template name
    app.connect("html-page-context", _one_of_each_script, priority=100)
    return {"parallel_read_safe": True, "parallel_write_safe": True}

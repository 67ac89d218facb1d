from jepabook.core.tidy import cell_ids, launchable, tidy


def test_tidy_strips_timestamps_and_hides_the_injected_cell():
    nb = {
        "metadata": {"papermill": {"start_time": "t0", "end_time": "t1", "duration": 3.2, "parameters": {"profile": "ci"}}},
        "cells": [
            {"cell_type": "code", "source": "profile = 'ci'",
             "metadata": {"tags": ["injected-parameters"], "papermill": {"duration": 0.1, "status": "completed"},
                          "execution": {"iopub.execute_input": "t"}}},
            {"cell_type": "code", "source": "x = 1", "metadata": {"tags": ["parameters"]}},
        ],
    }
    out = tidy(nb)
    assert out["metadata"]["papermill"] == {"parameters": {"profile": "ci"}}
    injected, own = out["cells"]
    assert injected["metadata"]["tags"] == ["injected-parameters", "remove-cell"]
    assert injected["metadata"]["papermill"] == {} and "execution" not in injected["metadata"]
    assert own["metadata"]["tags"] == ["parameters"]
    assert tidy(out) == out  # idempotent


def test_a_launched_copy_runs_at_the_parameters_cells_profile():
    injected = '# Parameters\nprofile = "full"\nrepository = "https://github.com/o/r"\n'
    out = launchable(injected)
    assert '\n# profile = "full"\n' in out and "\nprofile = " not in out
    assert 'repository = "https://github.com/o/r"' in out.splitlines()  # other parameters stay active
    assert launchable(out) == out
    namespace = {"profile": "ci"}
    exec(out, namespace)  # what running the committed cell by hand does
    assert namespace["profile"] == "ci" and namespace["repository"] == "https://github.com/o/r"
    nb = {"metadata": {}, "cells": [{"cell_type": "code", "source": injected, "metadata": {"tags": ["injected-parameters"]}}]}
    assert tidy(nb)["cells"][0]["source"] == out


def _nb(*sources, minor=5):
    return {"nbformat": 4, "nbformat_minor": minor, "metadata": {},
            "cells": [{"cell_type": t, "id": f"random{i}", "source": s, "metadata": {}}
                      for i, (t, s) in enumerate(sources)]}


def test_cell_ids_are_deterministic_valid_unique_and_idempotent():
    import copy
    import re

    sources = [("markdown", "# Title"), ("code", "x = 1"), ("code", "x = 1"), ("markdown", "x = 1"),
               ("code", ["y = ", "2"]), ("code", "")]
    a, b = tidy(_nb(*sources)), _nb(*sources)
    for i, c in enumerate(b["cells"]):
        c["id"] = f"other-random-{i}"  # a second conversion draws other ids
    b = tidy(b)
    ids = [c["id"] for c in a["cells"]]
    assert ids == [c["id"] for c in b["cells"]]
    assert all(re.fullmatch(r"[a-zA-Z0-9-_]{1,64}", i) for i in ids)
    assert len(set(ids)) == len(ids)
    assert ids[2] == ids[1] + "-2"  # a repeated cell gets a counter
    assert ids[3] != ids[1]  # the cell type counts
    assert ids[4] == cell_ids([{"cell_type": "code", "source": "y = 2"}])[0]  # list and string sources agree
    assert tidy(copy.deepcopy(a)) == a


def test_cell_ids_survive_an_unrelated_insertion_and_an_edit_elsewhere():
    before = [c["id"] for c in tidy(_nb(("code", "a"), ("code", "b"), ("markdown", "c")))["cells"]]
    after = [c["id"] for c in tidy(_nb(("code", "new"), ("code", "a"), ("code", "b edited"), ("markdown", "c")))["cells"]]
    assert after[1] == before[0] and after[3] == before[2]
    assert after[2] != before[1]


def test_cell_ids_validate_with_nbformat_and_old_notebooks_get_none():
    import nbformat

    nb = tidy(_nb(("code", "x = 1"), ("code", "x = 1")))
    for c in nb["cells"]:
        c.update(outputs=[], execution_count=None)
    nbformat.validate(nbformat.from_dict(nb))
    old = _nb(("code", "x = 1"), minor=4)
    for c in old["cells"]:
        del c["id"]
    assert all("id" not in c for c in tidy(old)["cells"])

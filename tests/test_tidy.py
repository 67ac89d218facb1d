from jepabook.tidy import tidy


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

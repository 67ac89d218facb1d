"""Chapter 4's experiment code: splits, target statistics, the loss, and a tiny end-to-end run."""

import json
from dataclasses import replace

import mlx.core as mx
import numpy as np
import pytest

from jepabook.crossjepa import experiment as cj
from jepabook.crossjepa import data as cd
from jepabook.crossjepa import world as cw
from jepabook.core.rules import SKIPPED

TINY = replace(cj.PROFILES["ci"], n_per_class=4, test_per_class=1, steps=2, batch=4,
               arms=("untrained", "cond_none", "cond_pose", "cond_pose_colour", "pixels", "mask_0.5"))


def test_stratified_split_holds_out_each_class_equally():
    labels = np.repeat(np.arange(4), 5)
    train, test = cd.stratified_split(labels, 2, seed=0)
    assert np.bincount(labels[test]).tolist() == [2, 2, 2, 2]
    assert set(train) | set(test) == set(range(20)) and not set(train) & set(test)
    assert cd.stratified_split(labels, 2, seed=0)[1].tolist() == test.tolist()


def test_class_share_closed_forms():
    labels = np.repeat(np.arange(3), 4)
    centres = np.random.default_rng(0).normal(size=(3, 5))
    only_class = np.repeat(centres[labels][:, None], 2, axis=1)  # (n, V=2, d): a function of the class
    assert cd.class_share(only_class, labels) == pytest.approx(1.0)
    # one class-only dimension and one class-free dimension, each standardised: half the variance
    x = np.zeros((12, 1, 2))
    x[:, 0, 0] = np.array([-1.0, 0.0, 1.0])[labels]
    x[:, 0, 1] = np.tile([-1.0, 1.0, -1.0, 1.0], 3)
    assert cd.class_share(x, labels) == pytest.approx(0.5)


def test_batch_standardise_gives_zero_mean_unit_variance():
    z = mx.random.normal((64, 7), key=mx.random.key(0)) * 0.1 + 3.0  # the spread of a fresh student
    out = np.array(cj.batch_standardise(z))
    np.testing.assert_allclose(out.mean(0), 0.0, atol=1e-4)
    np.testing.assert_allclose(out.var(0), 1.0, atol=2e-3)


def test_student_loss_pairs_one_feature_with_every_view():
    c = replace(TINY, width=16, depth=1, heads=2)
    model = cj.make_student(c, 4, 0, 3, mx.random.key(1))
    rng = np.random.default_rng(0)
    groups = mx.array(rng.normal(size=(5, c.n_groups, c.group_size, 3)).astype(np.float32))
    centres = mx.array(rng.normal(size=(5, c.n_groups, 3)).astype(np.float32))
    cond = mx.array(rng.normal(size=(5, 2, 4)).astype(np.float32))
    target = mx.array(rng.normal(size=(5, 2, 3)).astype(np.float32))
    loss, _ = cj.student_loss(model, groups, centres, None, cond, None, target)
    z = cj.batch_standardise(model.encoder.features(groups, centres))
    manual = [np.array(model.predictor(z, cond[:, v])) - np.array(target[:, v]) for v in range(2)]
    assert loss.item() == pytest.approx(float(np.mean(np.square(manual))), rel=1e-5)


def test_config_rejects_bad_values():
    with pytest.raises(ValueError, match="unknown arms"):
        replace(TINY, arms=("nope",))
    with pytest.raises(ValueError, match="steps must be a positive integer"):
        replace(TINY, steps=0)
    with pytest.raises(ValueError, match="teachers must name at least two"):
        replace(TINY, teachers=("random-conv",))
    with pytest.raises(ValueError, match="needs a local checkpoint"):
        cd.candidate_teachers(("dinov2-small",), None)
    with pytest.raises(ValueError, match="default_teacher='pixels' must be one of"):
        replace(TINY, teachers=("lejepa", "lejepa-init"), default_teacher="pixels")
    with pytest.raises(ValueError, match="light must be one of"):
        replace(TINY, light="sun")


def test_dinov2_becomes_the_default_teacher_when_given(monkeypatch):
    seen = {}

    def fake_run_chapter(chapter, profile, seeds, progress, workers, executor, extra, **overrides):
        seen.update(overrides)
        raise RuntimeError("stop")

    monkeypatch.setattr(cj, "run_chapter", fake_run_chapter)
    with pytest.raises(RuntimeError, match="stop"):
        cj.run("ci", "0", dinov2_path="/some/model.safetensors")
    assert seen["default_teacher"] == "dinov2-small" and "dinov2-small" in seen["teachers"]
    assert "labelled" in seen["teachers"]  # the labelled teacher stays in the table


def test_dinov2_teacher_joins_the_candidates_from_the_environment(monkeypatch):
    monkeypatch.setenv("JEPABOOK_DINOV2", "/nowhere/model.safetensors")
    with pytest.raises(FileNotFoundError, match="/nowhere/model.safetensors"):
        cj.run("ci", "0", workers=1, **{f: getattr(TINY, f) for f in ("n_per_class", "test_per_class", "steps",
                                                                        "batch", "arms")})


@pytest.fixture(scope="module")
def tiny_runs(tmp_path_factory):
    import os

    cache = tmp_path_factory.mktemp("cache")
    old = os.environ.get("JEPABOOK_CACHE")
    os.environ["JEPABOOK_CACHE"] = str(cache)
    try:
        kw = {f: getattr(TINY, f) for f in ("n_per_class", "test_per_class", "steps", "batch", "arms")}
        first = cj.run("ci", "0,1", workers=1, **kw)
        second = cj.run("ci", "0,1", workers=1, **kw)
    finally:
        if old is None:
            os.environ.pop("JEPABOOK_CACHE")
        else:
            os.environ["JEPABOOK_CACHE"] = old
    return first, second


def test_teacher_runs_once_and_never_during_training(tiny_runs):
    first, second = tiny_runs
    assert first.prepared.teacher_calls == {"teacher_pass": len(cj.PROFILES["ci"].teachers), "sweep": 0}
    assert not any(i.hit for i in first.prepared.cache.values())
    assert second.prepared.teacher_calls == {"teacher_pass": 0, "sweep": 0}  # read from the cache
    assert all(i.hit for i in second.prepared.cache.values())
    for name in first.prepared.cache:
        assert second.prepared.cache[name].teacher_seconds == pytest.approx(first.prepared.cache[name].teacher_seconds)


def test_runs_are_deterministic_and_the_record_follows_the_schema(tiny_runs, tmp_path):
    first, second = tiny_runs
    assert first.metrics == second.metrics
    record = json.loads(first.record.save(tmp_path / "x.json").read_text())
    assert record["chapter"] == "crossjepa" and record["seeds"] == [0, 1]
    assert {"teacher_pass_total", "sweep", "total"} <= set(record["timing_s"])
    ids = {c["id"] for c in record["claims"]}
    assert {"crossjepa.learns", "crossjepa.conditioning_pose", "crossjepa.conditioning_colour",
            "crossjepa.objective"} <= ids
    by_id = {c["id"]: c for c in record["claims"]}
    # its arms were not run: reported as skipped, by name, never silently dropped
    assert by_id["crossjepa.second_teacher"]["verdict"] == SKIPPED
    assert set(by_id["crossjepa.second_teacher"]["missing"]) == {"second_none", "second_pose"}
    for c in record["claims"]:
        if c["verdict"] != SKIPPED:
            assert all(len(v) == 2 for v in c["measured"].values())


def test_roles_are_the_configured_teachers_and_every_candidate_is_scored(tiny_runs):
    run = tiny_runs[0]
    prep = run.prepared
    assert prep.teachers == {"default": "labelled", "second": "lejepa-init"}  # named, never chosen from scores
    assert set(prep.decodability) == set(cj.PROFILES["ci"].teachers)
    m = run.metrics
    assert m["teacher_class_share"] == [prep.decodability["labelled"]["class_share"]] * 2
    assert m["second_teacher_pose_r2"] == [prep.decodability["lejepa-init"]["pose_r2"]] * 2
    assert m["pixel_class_share"] == [prep.pixel_class_share] * 2
    # the trained teacher's one-time training is timed, and read back from the cache on the second run
    t1, t2 = run.record.timing_s, tiny_runs[1].record.timing_s
    assert t1["teacher_train_labelled"] > 0
    assert t2["teacher_train_labelled"] == pytest.approx(t1["teacher_train_labelled"])
    assert "teacher_train_lejepa-init" not in t1  # the untrained twin costs no training


def test_untrained_arm_matches_a_fresh_student(tiny_runs):
    run = tiny_runs[0]
    assert np.isnan(run.results["untrained"][0].final_loss)
    again = cj.run_arm(run.config, "untrained", 0, run.prepared.data)
    assert again.acc == run.results["untrained"][0].acc
    assert all(len(r.loss) > 0 for r in run.results["cond_none"])


def test_arms_are_validated():
    with pytest.raises(ValueError, match="conditioning must be one of"):
        cj.Arm(conditioning="colour")
    with pytest.raises(ValueError, match="objective must be one of"):
        cj.Arm(objective="labels+teacher")
    with pytest.raises(ValueError, match="teacher must be one of"):
        cj.Arm(teacher="third")
    with pytest.raises(ValueError, match=r"mask must be in \[0, 1\)"):
        cj.Arm(mask=1.0)
    assert cj.CONDITIONING == {"none": (), "pose": ("pose",), "pose+colour": ("pose", "colour")}


def test_ten_published_seeds_at_full_and_the_record_is_named_by_them(tmp_path, monkeypatch):
    from jepabook.core.config import published_seeds
    from jepabook.core.results import ChapterRun

    assert published_seeds("full", "crossjepa") == tuple(range(10))
    assert published_seeds("ci", "crossjepa") == published_seeds("ci") == (0, 1, 2)
    assert published_seeds("full", "basics") == published_seeds("full") == (0, 1, 2, 3, 4)
    monkeypatch.setenv("JEPABOOK_RESULTS", str(tmp_path))
    ten = ChapterRun("crossjepa", "full", list(range(10)), [], [])
    five = ChapterRun("crossjepa", "full", list(range(5)), [], [])
    assert ten.default_path().name == "crossjepa-full.json"
    assert five.default_path().name == "crossjepa-full-seeds-0-1-2-3-4.json"


def test_teacher_phase_in_the_pool_gives_the_same_bits_as_in_process(tmp_path, monkeypatch):
    """The teachers run as pool tasks (training, pass, scores); two workers and one give identical
    embeddings, scores and call counts (each on a cold cache of its own)."""
    config = replace(TINY, n_per_class=6)
    monkeypatch.setattr(cd, "POOL_MIN_STEPS", 1)  # the tiny teacher trains 3 steps: pool it anyway
    out = {}
    for workers in (1, 2):
        monkeypatch.setenv("JEPABOOK_CACHE", str(tmp_path / f"cache{workers}"))
        counted = {k: cd.CountingTeacher(t) for k, t in
                   cd.candidate_teachers(config.teachers, None, config.teacher, config.labelled).items()}
        out[workers] = (cd.prepare(config, counted, workers=workers), counted)
    (one, c1), (two, c2) = out[1], out[2]
    assert not any(i.hit for i in two.cache.values())  # computed in the workers, not read back
    assert list(one.decodability) == list(two.decodability) == list(config.teachers)
    assert one.decodability == two.decodability
    for role in one.data.targets:
        assert np.array_equal(one.data.targets[role], two.data.targets[role])
    assert {k: t.calls for k, t in c1.items()} == {k: t.calls for k, t in c2.items()} == {k: 1 for k in c1}
    assert all(two.cache[k].train_seconds > 0 for k in ("labelled",))


def test_teacher_phase_stays_in_process_when_no_long_training_is_left(tmp_path, monkeypatch):
    """Below POOL_MIN_STEPS (or with every pass cached) no worker is started: run_tasks gets workers=1."""
    seen = []
    real = cd.run_tasks

    def spy(fn, tasks, workers=None, executor=None):
        if fn is cd.teacher_pass:  # (the world's parts go to the pool: see the test below)
            seen.append(workers)
        return real(fn, tasks, workers=1)

    monkeypatch.setattr(cd, "run_tasks", spy)
    monkeypatch.setenv("JEPABOOK_CACHE", str(tmp_path))
    config = replace(TINY, n_per_class=6)
    teachers = cd.candidate_teachers(config.teachers, None, config.teacher, config.labelled)
    cd.prepare(config, teachers, workers=2)  # the ci teacher trains 3 steps: not worth a pool
    monkeypatch.setattr(cd, "POOL_MIN_STEPS", 1)
    cd.prepare(config, cd.candidate_teachers(config.teachers, None, config.teacher, config.labelled), workers=2)  # cached now
    assert seen == [1, 1]


def test_the_world_built_in_parts_in_the_pool_has_the_same_bits(monkeypatch):
    """Issue 26: the world (and the labelled teacher's objects) are built in parts in spawned workers
    instead of ~48 s on one core; joined class by class, the parts give the arrays one process gives."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    from jepabook.crossjepa.shapes3d import colour_histogram

    config = replace(TINY, n_per_class=5)
    monkeypatch.setattr(cw, "WORLD_PARTS", 3)  # parts of 1, 2 and 2 objects per class: uneven on purpose
    here = cw.build_world(config)
    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn")) as pool:
        pooled = cw.build_world(config, executor=pool)
        own = cw.labelled_views(config, 4, executor=pool)
    assert pooled.world.fingerprint() == here.world.fingerprint()  # every array's dtype, shape and bytes
    assert len(pooled.world.params) == len(here.world.params)
    assert all(np.array_equal(a, b) for a, b in zip(pooled.world.params, here.world.params))
    for name in ("groups", "centres", "colour"):  # what the student reads, computed in the parts
        assert np.array_equal(getattr(pooled, name), getattr(here, name)), name
        assert getattr(pooled, name).dtype == getattr(here, name).dtype == np.float32
    assert np.array_equal(here.colour, colour_histogram(here.world.renders))
    assert set(pooled.timing) == set(here.timing) == {"world", "grouping", "colour_histograms"}
    alone = cw.labelled_views(config, 4)
    assert own[2] == alone[2] and np.array_equal(own[0], alone[0]) and np.array_equal(own[1], alone[1])
    # a part is a range of object indices: the labelled teacher's objects follow the student's
    first = cw.world_part(config, 1, config.n_per_class, False)[0]
    assert np.array_equal(first.renders[0], alone[0][:config.n_views].reshape(first.renders[0].shape))


def test_a_given_executor_gets_the_world_parts_and_the_teacher_passes(tmp_path, monkeypatch):
    """With an executor (a Dask cluster, say) the plan phase sends it the world's parts, the labelled
    teacher's objects and the long teacher passes, starts no pool of its own, and prepares the same data."""
    from concurrent.futures import Executor, Future

    class Here(Executor):  # runs each task at once, in this process, and remembers what it ran
        def __init__(self):
            self.ran = []

        def submit(self, fn, /, *args, **kwargs):
            self.ran.append(fn.__name__)
            f = Future()
            f.set_result(fn(*args, **kwargs))
            return f

    monkeypatch.setattr(cj, "ProcessPoolExecutor", lambda *a, **k: pytest.fail("started a pool of its own"))
    monkeypatch.setattr(cd, "POOL_MIN_STEPS", 1)  # the tiny teacher trains 3 steps: send it anyway
    config = replace(TINY, n_per_class=3)
    monkeypatch.setenv("JEPABOOK_CACHE", str(tmp_path / "given"))
    here = Here()
    prep = cj._plan(config, [0], False, executor=here).context[0]
    # one object of each class a part (fewer objects than WORLD_PARTS), the student's and the labelled teacher's
    assert here.ran.count("world_part") == config.n_per_class + config.labelled.objects_per_class
    assert here.ran.count("teacher_pass") == len(config.teachers)
    monkeypatch.setenv("JEPABOOK_CACHE", str(tmp_path / "alone"))
    alone = cj._plan(config, [0], False, workers=1).context[0]
    assert prep.world.fingerprint() == alone.world.fingerprint() and prep.decodability == alone.decodability
    for role in alone.data.targets:
        assert np.array_equal(prep.data.targets[role], alone.data.targets[role])
    assert np.array_equal(prep.data.colour, alone.data.colour) and np.array_equal(prep.data.groups, alone.data.groups)


def test_a_small_world_starts_no_pool(tmp_path, monkeypatch):
    """Below POOL_MIN_OBJECTS (ci: 256 objects) starting workers costs more than it saves: with two
    workers and no executor, the plan phase builds the world here and starts no pool of its own."""
    assert not cw.pool_pays(cj.PROFILES["ci"].n_per_class) and cw.pool_pays(cj.PROFILES["full"].n_per_class)
    assert cw.pool_pays(cj.PROFILES["full"].labelled.objects_per_class)  # the labelled teacher's 1024 objects
    monkeypatch.setattr(cj, "ProcessPoolExecutor", lambda *a, **k: pytest.fail("started a plan pool"))
    monkeypatch.setattr(cw, "run_tasks", lambda *a, **k: pytest.fail("sent the world's parts to workers"))
    monkeypatch.setenv("JEPABOOK_CACHE", str(tmp_path))
    cj._plan(replace(TINY, n_per_class=3), [0], False, workers=2)

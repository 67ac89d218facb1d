import json
import os
import subprocess
import sys
from pathlib import Path

import mlx.core as mx
import numpy as np
import pytest

import jepabook
from jepabook.core import streams

SRC = str(Path(jepabook.__file__).resolve().parents[1])

_PROBE = """
import json, sys
import mlx.core as mx
from jepabook.core import streams
out = {"np": streams.rng(7, "data").integers(0, 2**63, 8).tolist(),
       "nested": streams.rng(7, "arm", "batches").random(4).tolist(),
       "key": [int(v) for v in streams.key(7, "init").tolist()],
       "mlx": mx.random.uniform(shape=(4,), key=streams.key(7, "init")).tolist()}
print(json.dumps(out))
"""


def _probe_in_new_process(hash_seed: str) -> dict:
    env = dict(os.environ, PYTHONPATH=SRC, PYTHONHASHSEED=hash_seed)
    done = subprocess.run([sys.executable, "-c", _PROBE], env=env, capture_output=True, text=True, check=True)
    return json.loads(done.stdout)


def test_same_seed_and_names_give_the_same_bits_here_and_in_new_processes():
    here = {"np": streams.rng(7, "data").integers(0, 2**63, 8).tolist(),
            "nested": streams.rng(7, "arm", "batches").random(4).tolist(),
            "key": [int(v) for v in streams.key(7, "init").tolist()],
            "mlx": mx.random.uniform(shape=(4,), key=streams.key(7, "init")).tolist()}
    # two processes with different str-hash salts: the names are not hashed by Python's hash()
    assert _probe_in_new_process("1") == here
    assert _probe_in_new_process("2") == here
    assert np.array_equal(np.array(streams.keys(7, "directions", num=5)),
                          np.array(mx.random.split(streams.key(7, "directions"), 5)))


def test_different_names_or_seeds_give_different_independent_looking_streams():
    draws = {(s, names): streams.rng(s, *names).random(10_000)
             for s in (0, 1) for names in (("data",), ("split",), ("batches",), ("arm", "batches"), ("batches", "arm"))}
    pairs = [(a, b) for a in draws for b in draws if a < b]
    for a, b in pairs:
        assert not np.array_equal(draws[a], draws[b]), (a, b)
        assert abs(np.corrcoef(draws[a], draws[b])[0, 1]) < 0.05, (a, b)
    # MLX keys too: different names, different keys and draws
    ka, kb, kc = streams.key(0, "init"), streams.key(0, "directions"), streams.key(1, "init")
    ua, ub, uc = (np.array(mx.random.uniform(shape=(10_000,), key=k)) for k in (ka, kb, kc))
    assert abs(np.corrcoef(ua, ub)[0, 1]) < 0.05 and abs(np.corrcoef(ua, uc)[0, 1]) < 0.05
    assert len({tuple(np.array(k).tolist()) for k in (ka, kb, kc)}) == 3
    # names are not concatenated: ("ab",) and ("a", "b") are different streams
    assert streams.spawn_key("ab") != streams.spawn_key("a", "b")
    assert not np.array_equal(streams.rng(0, "ab").random(8), streams.rng(0, "a", "b").random(8))


def test_a_new_stream_does_not_shift_the_others():
    alone = streams.rng(3, "data").random(100)
    extra = streams.rng(3, "extra")
    extra.random(1000)
    data = streams.rng(3, "data")
    between = data.random(50)
    extra.random(1000)
    after = np.concatenate([between, data.random(50)])
    streams.rng(3, "extra").random(10)
    assert np.array_equal(alone, after)
    assert np.array_equal(alone, streams.rng(3, "data").random(100))
    k = np.array(streams.key(3, "init"))
    streams.key(3, "extra")
    assert np.array_equal(k, np.array(streams.key(3, "init")))


def test_the_derivation_is_pinned():
    # a change of the name → spawn-key mapping or of the seeding shows up here (and moves every number
    # of the book); NumPy keeps SeedSequence and PCG64 streams stable across versions (NEP 19)
    assert streams.spawn_key("data") == (980332665, 255437959)
    assert streams.rng(0, "data").integers(0, 2**64, 4, dtype=np.uint64).tolist() == [
        12699967240194079899, 15250407187991177847, 7840284682431030873, 749229770557121632]
    assert streams.rng(0, "data").random(3).tolist() == pytest.approx(
        [0.6884666036156578, 0.8267262302254293, 0.42502268427982726], abs=0, rel=0)
    assert np.array(streams.key(0, "init")).tolist() == [1970329575, 1119172866]
    assert np.array(streams.key(0, "data")).tolist() == [1115484088, 3526832583]


@pytest.mark.parametrize("seed", [-1, 1.0, "0", None, True, False, np.bool_(True)])
def test_bad_seeds_are_refused_by_name(seed):
    with pytest.raises(ValueError, match="seed"):
        streams.rng(seed, "data")
    with pytest.raises(ValueError, match="seed"):
        streams.key(seed, "init")


@pytest.mark.parametrize("names", [(), ("",), ("data", ""), (1,), ("data", None), (b"data",)])
def test_bad_names_are_refused_by_name(names):
    with pytest.raises(ValueError, match="names"):
        streams.rng(0, *names)
    with pytest.raises(ValueError, match="names"):
        streams.key(0, *names)


def test_numpy_integer_seeds_are_accepted_and_keys_count_is_checked():
    assert np.array_equal(streams.rng(np.int64(5), "data").random(4), streams.rng(5, "data").random(4))
    assert streams.rng(2**70, "data").random() != streams.rng(0, "data").random()  # big seeds are fine
    with pytest.raises(ValueError, match="num"):
        streams.keys(0, "directions", num=0)

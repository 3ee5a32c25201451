"""The README's commands as make runs them: every `dopwf run --out DIR` of a demo target finds DIR's parent
(the CLI refuses a missing parent; `make demo` once failed on a fresh clone for want of runs/)."""

import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
@pytest.mark.parametrize("target", ["demo", "quick-demo"])
def test_demo_targets_create_the_parent_of_their_output(target):
    commands = subprocess.run(["make", "-n", "-B", target], cwd=ROOT, capture_output=True, text=True, check=True)
    created: set[Path] = {Path(".")}
    runs = 0
    for line in commands.stdout.splitlines():
        words = shlex.split(line)
        if words[:2] == ["mkdir", "-p"]:
            created.update(Path(w) for w in words[2:])
        if len(words) > 1 and words[0].endswith("dopwf") and words[1] == "run":
            out = Path(words[words.index("--out") + 1])
            assert out.parent in created, f"make {target}: {line!r} needs {out.parent}/, which nothing creates"
            runs += 1
    assert runs == 1


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_bench_runs_the_speed_benchmarks_one_at_a_time():
    """`make bench` runs the ranking, the force-call and the MD benchmarks, each as its own command (one after the
    other: they share the cores)."""
    commands = subprocess.run(["make", "-n", "-B", "bench"], cwd=ROOT, capture_output=True, text=True, check=True)
    scripts = [words[1] for words in map(shlex.split, commands.stdout.splitlines())
               if len(words) == 2 and words[0].endswith("python") and words[1].startswith("bench/")]
    assert scripts == ["bench/substitution_ranking.py", "bench/ann_speed.py", "bench/md_speed.py"]

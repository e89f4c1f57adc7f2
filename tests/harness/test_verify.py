"""graphfree-verify on the CPU: every fixture passes (a real saving where one is declared), a
broken fix is caught, and a script that misses its declared saving fails. `fixtures_run` and
`small_run` (graphfree-verify commands started in the background) and `runs` (one runner server)
are in conftest.py."""
import importlib.metadata
import json
import os
import re
import sys
import time
from pathlib import Path

import pytest

from flake8_graphfree.harness import launch
from flake8_graphfree.harness.verify import Compare, verify_script

from ..conftest import run
from .conftest import TINY

ROOT = Path(__file__).resolve().parents[2]


def test_every_fixture_is_equivalent_and_meets_its_expectation(fixtures_run):
    result = fixtures_run.result()
    report = json.loads((fixtures_run.folder / "report.json").read_text())
    assert result.returncode == 0, result.stdout.decode() + result.stderr.decode()
    assert report["torch"] == importlib.metadata.version("torch")
    assert report["device"].startswith("cpu")
    by_name = {Path(r["script"]).name: r for r in report["results"]}
    assert set(by_name) == {p.name for p in (ROOT / "fixtures").glob("[!_]*.py")}
    assert report["schema"] == 2 and report["tool"].startswith("graphfree-verify ")
    assert report["arguments"] == ["fixtures", "--device", "cpu", "-j", "2", "--json",
                                   report["arguments"][-1]]
    for r in report["results"]:
        assert set(r) == {"script", "codes", "peak_before_bytes", "peak_after_bytes",
                          "saving_bytes", "saving_percent", "equivalent", "verdict", "reason",
                          "difference", "expected", "expectation_met", "fixes", "unfixed",
                          "seconds", "iterations_before", "iterations_after"}
        assert r["equivalent"] and r["verdict"] == "pass", r
        assert r["expectation_met"] is (True if r["expected"] else None)
        assert set(r["seconds"]) >= {"original", "original_again"}
    assert by_name["train_for_loop.py"]["fixes"] == [{"code": "GF004", "line": 17},
                                                     {"code": "GF002", "line": 18}]
    assert by_name["train_for_loop.py"]["unfixed"] == []
    assert by_name["loss_read_after_loop.py"]["unfixed"] == [
        {"code": "GF001", "line": 13, "reason": "'loss' is read after the loop"}]
    # Memory per iteration: one more graph every iteration before the fix, flat after it.
    grows = by_name["accumulated_loss.py"]
    assert grows["iterations_before"]["unit"] == "forward pass"
    # one graph of a 128-row batch: 8 layers x 2 saved 128 x 1024 float tensors (1 MiB), and more
    assert abs(grows["iterations_before"]["growth_per_iteration"] / 2**20 - 4.63) < 0.1
    assert abs(grows["iterations_after"]["growth_per_iteration"]) < 2**16
    skipped = by_name["train_for_loop.py"]["iterations_before"]
    assert skipped["unit"] == "optimizer step" and len(skipped["peaks"]) == 5
    assert max(skipped["peaks"]) == by_name["train_for_loop.py"]["peak_before_bytes"]
    # Two scripts at a time (-j 2): the second starts before the first ends; each line in order.
    progress = result.stderr.decode().splitlines()
    assert set(progress[:2]) == {"[1/11] fixtures/accumulated_loss.py: running",
                                 "[2/11] fixtures/blog_while_loop.py: running"}
    for i, r in enumerate(report["results"], 1):
        start = progress.index(f"[{i}/11] {r['script']}: running")
        end = next(n for n, line in enumerate(progress)
                   if line.startswith(f"[{i}/11] {r['script']}: p"))
        assert start < end and re.fullmatch(
            rf"\[{i}/11\] {r['script']}: pass; original run [\d.]+ s, original again run [\d.]+ s"
            r"(, fixed run [\d.]+ s)?; peak [\d.]+ (B|KiB|MiB) -> [\d.]+ (B|KiB|MiB)",
            progress[end])
    # The fix saves real memory where the graph still holds tensors, and nothing where it does not.
    assert by_name["retain_graph_loop.py"]["saving_percent"] >= 30
    assert by_name["skipped_backward.py"]["saving_percent"] >= 35
    assert by_name["custom_function_ctx.py"]["saving_percent"] >= 15
    assert by_name["blog_while_loop.py"]["saving_bytes"] == 0
    assert by_name["loss_read_after_loop.py"]["reason"] == "no autofix for its findings"
    assert by_name["retain_graph_loop.py"]["codes"] == ["GF003"]
    assert by_name["skipped_backward.py"]["codes"] == ["GF002"]
    for name in ("eval_loop_outside_no_grad.py", "outputs_kept.py", "accumulated_loss.py",
                 "stored_losses.py"):
        assert by_name[name]["saving_percent"] >= 15, by_name[name]


def test_a_fix_that_changes_behaviour_is_caught(runs):
    script = ROOT / "fixtures" / "blog_while_loop.py"

    def broken(source: bytes) -> bytes:  # a "fix" that steps the optimizer twice
        return source.replace(b"    optimizer.step()\n",
                              b"    optimizer.step()\n    optimizer.step()\n")

    result = verify_script(str(script), "cpu", fixer=broken, runs=runs)
    assert not result.equivalent and result.verdict == "fail"
    assert result.reason.startswith("the fixed script differs: printed something else, first at "
                                    "output line ")


def _row(result, name: str) -> str:
    return next(line for line in result.stdout.decode().splitlines() if f"{os.sep}{name} " in line)


def test_a_missed_expectation_fails_with_exit_1(small_run):
    result, folder = small_run.result(), small_run.folder
    assert result.returncode == 1, result.stderr.decode()[-2000:]
    line = _row(result, "tiny.py")
    assert "fail" in line and "expected a saving >= 90%, measured 0%" in line
    markdown = (folder / "r.md").read_text()
    assert "| tiny.py" not in markdown and "| fail |" in markdown and "| pass |" in markdown


def test_the_table_shows_small_figures_with_their_unit_and_marks_the_codes(small_run):
    # A peak of a few KiB is written as such, not `0.0 MiB`; the saving of `del out` (one 16 x 32
    # float output, 2 KiB) shows; each code says whether it was fixed.
    result, folder = small_run.result(), small_run.folder
    head = next(line for line in result.stdout.decode().splitlines() if line.startswith("script "))
    line = _row(result, "mixed.py")
    columns = re.split(r"\s{2,}", line)
    assert re.split(r"\s{2,}", head)[:6] == ["script", "codes", "peak before", "peak after",
                                             "saving", "growth/iteration"]
    assert columns[1] == "GF001 (no fix), GF004 (fixed)"
    for figure in columns[2:4]:
        number, unit = figure.split()
        assert unit in ("B", "KiB") and float(number) > 0 and len(number.replace(".", "")) <= 4
    saving, percent = columns[4].split(" (")
    assert saving == "2.00 KiB" and float(percent.rstrip("%)")) > 0
    assert columns[6:9] == ["yes", "pass", "fixed; saving measured"]
    assert "| GF001 (no fix), GF004 (fixed) |" in (folder / "r.md").read_text()
    assert re.search(r": pass; original run [\d.]+ s, original again run [\d.]+ s, fixed run "
                     r"[\d.]+ s; peak [\d.]+ KiB -> [\d.]+ KiB\n", result.stderr.decode())


def test_units_and_marks():
    from flake8_graphfree.harness.verify import Result, marked_codes, size

    assert [size(n) for n in (0, 0.4, 1023, 1024, 1536, 10 * 2**20 + 2**19, 185 * 2**20,
                              999.4 * 2**20, 1023.9 * 2**20, 3 * 2**30, -53.9 * 2**20)] == [
        "0 B", "0 B", "1023 B", "1.00 KiB", "1.50 KiB", "10.5 MiB", "185 MiB", "999 MiB",
        "1.00 GiB", "3.00 GiB", "-53.9 MiB"]
    r = Result("s.py", ["GF001", "GF002", "GF004"], fixes=[{"code": "GF004", "line": 3},
                                                           {"code": "GF002", "line": 9},
                                                           {"code": "GF001", "line": 20}],
               unfixed=[{"code": "GF001", "line": 5, "reason": ""}])
    assert marked_codes(r) == "GF001 (1 of 2 fixed), GF002 GF004 (fixed)"
    assert marked_codes(Result("s.py", [])) == "-"


def test_usage_errors_exit_2(tmp_path):
    result = run([sys.executable, "-m", "flake8_graphfree.harness.verify",
                  str(tmp_path / "nope.py")])
    assert result.returncode == 2 and b"no such script" in result.stderr
    result = run([sys.executable, "-m", "flake8_graphfree.harness.verify", "-j", "0", "fixtures"],
                 cwd=ROOT)
    assert result.returncode == 2 and b"--jobs must be at least 1" in result.stderr


def test_an_original_that_disagrees_with_itself_gets_no_verdict(tmp_path, runs):
    # Two runs of the same script print different times: that is the noise floor, not a fix's fault.
    path = tmp_path / "clock.py"
    path.write_text("import time\nprint('start')\nprint(time.perf_counter_ns())\n")
    result = verify_script(str(path), "cpu", runs=runs)
    assert result.verdict == "noisy" and not result.equivalent
    assert result.reason.startswith("two runs of the original differ, so no verdict: printed "
                                    "something else, first at output line 2: '")


# Prints the run's settings, allocates, trains: a run forked from the server must measure, print
# and end exactly as a fresh `python -m flake8_graphfree.harness.runner` does.
SETTINGS = """import os, sys, torch
print(torch.get_num_threads(), torch.are_deterministic_algorithms_enabled(),
      torch.is_deterministic_algorithms_warn_only_enabled(), os.environ["OMP_NUM_THREADS"],
      os.environ["PYTHONHASHSEED"], hash("graphfree"), os.getcwd() == sys.path[1], sys.argv[1:])
model = torch.nn.Linear(32, 32)
opt = torch.optim.SGD(model.parameters(), lr=0.1)
for _ in range(2):
    opt.zero_grad()
    model(torch.randn(64, 32)).pow(2).mean().backward()
    opt.step()
"""


def test_scripts_run_single_threaded_and_deterministic_forked_as_fresh(tmp_path, runs):
    path = tmp_path / "threads.py"
    path.write_text(SETTINGS)
    got = {}
    for name, runner in (("forked", runs), ("fresh", launch.Fresh())):
        out = tmp_path / f"{name}.json"
        ended = runner.run(["--meter", "cpu", "--out", str(out), str(path), "--x"],
                           str(tmp_path), 120)
        assert ended.returncode == 0, ended.stderr.decode()[-2000:]
        got[name] = ended.stdout, json.loads(out.read_text())
    stdout, result = got["forked"]
    assert stdout.decode().startswith("1 True False 1 0 ")
    assert stdout.decode().endswith(" True ['--x']\n")
    assert got["forked"] == got["fresh"]  # the same output, peak, iterations and parameters
    assert result["peak_bytes"] > 0 and len(result["parameters"]) == 2


def test_a_run_past_its_timeout_is_killed_and_fails(tmp_path, runs):
    path = tmp_path / "slow.py"
    path.write_text("import os, time\nopen('pid', 'w').write(str(os.getpid()))\ntime.sleep(60)\n")
    started = time.perf_counter()
    result = verify_script(str(path), "cpu", timeout=1, runs=runs)
    assert result.verdict == "fail" and result.reason == "original: timed out after 1 s"
    assert time.perf_counter() - started < 30
    with pytest.raises(ProcessLookupError):  # killed and reaped
        os.kill(int((tmp_path / "pid").read_text()), 0)


def test_ignored_output_lines_and_what_is_compared(tmp_path, runs):
    # A timing line differs on every run: with --ignore-output it is left out and the verdict holds.
    path = tmp_path / "timed.py"
    path.write_text("import time\nprint('start')\nprint(f'took {time.perf_counter_ns()} ns')\n")
    noisy = verify_script(str(path), "cpu", runs=runs)
    assert noisy.verdict == "noisy" and "'took " in noisy.difference
    calm = verify_script(str(path), "cpu", compare=Compare("both", [re.compile(r"^took ")]),
                         runs=runs)
    assert calm.verdict == "pass" and calm.equivalent
    params_only = verify_script(str(path), "cpu", compare=Compare("params"), runs=runs)
    assert params_only.verdict == "pass"


def test_a_changed_parameter_is_named_with_the_difference(tmp_path, runs):
    (tmp_path / "tiny.py").write_text(TINY)

    def broken(source: bytes) -> bytes:  # a "fix" that moves one bias after training
        return source + b"model.bias.data += 0.5\n"

    result = verify_script(str(tmp_path / "tiny.py"), "cpu", fixer=broken,
                           compare=Compare("params"), runs=runs)
    assert result.verdict == "fail" and not result.equivalent
    assert result.difference.startswith("ended with different model parameters, first "
                                        "Linear.bias (sum ")
    assert result.difference.endswith("a difference of 0.5)")


def test_a_crash_of_the_second_original_run_is_a_failure_not_noise(tmp_path, runs):
    path = tmp_path / "once.py"
    path.write_text("import os, sys\n"
                    "mark = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'ran')\n"
                    "if os.path.exists(mark):\n    sys.exit(3)\n"
                    "open(mark, 'w').close()\nprint('ok')\n")
    result = verify_script(str(path), "cpu", runs=runs)
    assert result.verdict == "fail" and not result.equivalent
    assert result.reason == "original (second run): exit 3: no output"


def test_an_exception_in_the_script_fails_with_its_last_line(tmp_path, runs):
    path = tmp_path / "boom.py"
    path.write_text("print('start')\nraise ValueError('boom')\n")
    result = verify_script(str(path), "cpu", runs=runs)
    assert result.verdict == "fail" and result.reason == "original: exit 1: ValueError: boom"


def test_the_plot_is_written(small_run):
    pytest.importorskip("matplotlib")  # in the test extra; users: flake8-graphfree[plot]
    result, folder = small_run.result(), small_run.folder
    assert result.returncode == 1, result.stderr.decode()[-2000:]  # TINY misses its saving
    assert (folder / "memory.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

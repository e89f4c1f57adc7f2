"""graphfree-verify on the CPU: every fixture passes (a real saving where one is declared), a
broken fix is caught, and a script that misses its declared saving fails."""
import json
import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

import re  # noqa: E402

from flake8_graphfree.harness.verify import Compare, verify_script  # noqa: E402

from ..conftest import run  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
TINY = '''# graphfree-verify: expect GF001 saving>=90%
import torch

torch.manual_seed(0)
model = torch.nn.Linear(8, 1)
opt = torch.optim.SGD(model.parameters(), lr=0.1)
for step in range(3):
    opt.zero_grad()
    loss = model(torch.randn(4, 8)).pow(2).mean()
    loss.backward()
    opt.step()
    print(round(loss.item(), 6))
'''


@pytest.fixture(scope="module")
def fixtures_report(tmp_path_factory):
    out = tmp_path_factory.mktemp("verify") / "report.json"
    result = run([sys.executable, "-m", "flake8_graphfree.harness.verify", "fixtures",
                  "--device", "cpu", "--json", str(out)], cwd=ROOT,
                 timeout=480)  # 20 runs of about 5 s each; 100 s on a 2-core machine
    return result, json.loads(out.read_text())


def test_every_fixture_is_equivalent_and_meets_its_expectation(fixtures_report):
    result, report = fixtures_report
    assert result.returncode == 0, result.stdout.decode() + result.stderr.decode()
    assert report["torch"] == torch.__version__ and report["device"].startswith("cpu")
    by_name = {Path(r["script"]).name: r for r in report["results"]}
    assert set(by_name) == {p.name for p in (ROOT / "fixtures").glob("[!_]*.py")}
    assert report["schema"] == 2 and report["tool"].startswith("graphfree-verify ")
    assert report["arguments"] == ["fixtures", "--device", "cpu", "--json", report["arguments"][-1]]
    for r in report["results"]:
        assert set(r) == {"script", "codes", "peak_before_bytes", "peak_after_bytes", "saving_bytes",
                          "saving_percent", "equivalent", "verdict", "reason", "difference",
                          "expected", "expectation_met", "fixes", "seconds", "iterations_before",
                          "iterations_after"}
        assert r["equivalent"] and r["verdict"] == "pass", r
        assert r["expectation_met"] is (True if r["expected"] else None)
        assert set(r["seconds"]) >= {"original", "original_again"}
    assert by_name["train_for_loop.py"]["fixes"] == [{"code": "GF004", "line": 17},
                                                     {"code": "GF002", "line": 18}]
    # Memory per iteration: one more graph every iteration before the fix, flat after it.
    grows = by_name["accumulated_loss.py"]
    assert grows["iterations_before"]["unit"] == "forward pass"
    assert abs(grows["iterations_before"]["growth_per_iteration"] / 2**20 - 18.5) < 0.5
    assert abs(grows["iterations_after"]["growth_per_iteration"]) < 2**16
    skipped = by_name["train_for_loop.py"]["iterations_before"]
    assert skipped["unit"] == "optimizer step" and len(skipped["peaks"]) == 5
    assert max(skipped["peaks"]) == by_name["train_for_loop.py"]["peak_before_bytes"]
    progress = result.stderr.decode().splitlines()
    assert progress[0] == "[1/11] fixtures/accumulated_loss.py: running"
    assert progress[1].startswith("[1/11] fixtures/accumulated_loss.py: pass; original run ")
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


def test_a_fix_that_changes_behaviour_is_caught():
    script = ROOT / "fixtures" / "blog_while_loop.py"

    def broken(source: bytes) -> bytes:  # a "fix" that steps the optimizer twice
        return source.replace(b"    optimizer.step()\n", b"    optimizer.step()\n    optimizer.step()\n")

    result = verify_script(str(script), "cpu", fixer=broken)
    assert not result.equivalent and result.verdict == "fail"
    assert result.reason.startswith("the fixed script differs: printed something else, first at "
                                    "output line ")


def test_a_missed_expectation_fails_with_exit_1(tmp_path):
    (tmp_path / "tiny.py").write_text(TINY)
    result = run([sys.executable, "-m", "flake8_graphfree.harness.verify", str(tmp_path / "tiny.py"),
                  "--device", "cpu", "--markdown", str(tmp_path / "r.md")])
    assert result.returncode == 1
    line = result.stdout.decode().splitlines()[-1]
    assert "fail" in line and "expected a saving >= 90%, measured 0%" in line
    assert "| tiny.py" not in (tmp_path / "r.md").read_text() and "| fail |" in (tmp_path / "r.md").read_text()


def test_usage_errors_exit_2(tmp_path):
    result = run([sys.executable, "-m", "flake8_graphfree.harness.verify", str(tmp_path / "nope.py")])
    assert result.returncode == 2 and b"no such script" in result.stderr


def test_an_original_that_disagrees_with_itself_gets_no_verdict(tmp_path):
    # Two runs of the same script print different times: that is the noise floor, not a fix's fault.
    path = tmp_path / "clock.py"
    path.write_text("import time\nprint('start')\nprint(time.perf_counter_ns())\n")
    result = verify_script(str(path), "cpu")
    assert result.verdict == "noisy" and not result.equivalent
    assert result.reason.startswith("two runs of the original differ, so no verdict: printed "
                                    "something else, first at output line 2: '")


def test_scripts_run_single_threaded_and_deterministic(tmp_path):
    path = tmp_path / "threads.py"
    path.write_text("import torch\nprint(torch.get_num_threads(), "
                    "torch.are_deterministic_algorithms_enabled(), "
                    "torch.is_deterministic_algorithms_warn_only_enabled())\n")
    out = tmp_path / "r.json"
    result = run([sys.executable, "-m", "flake8_graphfree.harness.runner", "--meter", "cpu",
                  "--out", str(out), str(path)])
    assert result.returncode == 0, result.stderr.decode()[-2000:]
    assert result.stdout == b"1 True False\n"


def test_ignored_output_lines_and_what_is_compared(tmp_path):
    # A timing line differs on every run: with --ignore-output it is left out and the verdict holds.
    path = tmp_path / "timed.py"
    path.write_text("import time\nprint('start')\nprint(f'took {time.perf_counter_ns()} ns')\n")
    noisy = verify_script(str(path), "cpu")
    assert noisy.verdict == "noisy" and "'took " in noisy.difference
    calm = verify_script(str(path), "cpu", compare=Compare("both", [re.compile(r"^took ")]))
    assert calm.verdict == "pass" and calm.equivalent
    params_only = verify_script(str(path), "cpu", compare=Compare("params"))
    assert params_only.verdict == "pass"


def test_a_changed_parameter_is_named_with_the_difference(tmp_path):
    (tmp_path / "tiny.py").write_text(TINY)

    def broken(source: bytes) -> bytes:  # a "fix" that moves one bias after training
        return source + b"model.bias.data += 0.5\n"

    result = verify_script(str(tmp_path / "tiny.py"), "cpu", fixer=broken, compare=Compare("params"))
    assert result.verdict == "fail" and not result.equivalent
    assert result.difference.startswith("ended with different model parameters, first Linear.bias (sum ")
    assert result.difference.endswith("a difference of 0.5)")


def test_a_crash_of_the_second_original_run_is_a_failure_not_noise(tmp_path):
    path = tmp_path / "once.py"
    path.write_text("import os, sys\nmark = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'ran')\n"
                    "if os.path.exists(mark):\n    sys.exit(3)\nopen(mark, 'w').close()\nprint('ok')\n")
    result = verify_script(str(path), "cpu")
    assert result.verdict == "fail" and not result.equivalent
    assert result.reason == "original (second run): exit 3: no output"


def test_the_plot_is_written(tmp_path):
    pytest.importorskip("matplotlib")  # an optional extra: `pip install flake8-graphfree[plot]`
    (tmp_path / "tiny.py").write_text(TINY)
    png = tmp_path / "memory.png"
    result = run([sys.executable, "-m", "flake8_graphfree.harness.verify", str(tmp_path / "tiny.py"),
                  "--device", "cpu", "--plot", str(png)])
    assert result.returncode == 1, result.stderr.decode()[-2000:]  # TINY misses its saving
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

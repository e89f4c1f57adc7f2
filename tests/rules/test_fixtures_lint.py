"""The shipped example scripts show the findings the README and fixtures/README.md promise."""
from pathlib import Path

from ..conftest import flake8, parse_flake8

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"


def test_fixture_findings():
    found = parse_flake8(flake8(str(FIXTURES)).stdout)
    got = {(Path(p).name, line): text for (p, line), [(_, text)] in found.items()}
    codes = sorted((name, line, t.split()[0]) for (name, line), t in got.items())
    assert codes == [
        ("accumulated_loss.py", 20, "GF005"), ("blog_while_loop.py", 16, "GF001"),
        ("custom_function_ctx.py", 30, "GF001"),
        ("eval_loop_outside_no_grad.py", 20, "GF002"),
        ("loss_read_after_loop.py", 13, "GF001"), ("outputs_kept.py", 18, "GF004"),
        ("retain_graph_loop.py", 15, "GF003"), ("skipped_backward.py", 14, "GF002"),
        ("state_outlives_loop.py", 15, "GF007"), ("stored_losses.py", 19, "GF006"),
        ("train_for_loop.py", 17, "GF004"),
        ("train_for_loop.py", 18, "GF002")]
    assert got[("loss_read_after_loop.py", 13)].endswith("no autofix: 'loss' is read after the loop")
    assert all("no autofix" not in t for k, t in got.items() if k[0] != "loss_read_after_loop.py")

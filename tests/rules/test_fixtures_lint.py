"""The shipped example scripts show the findings the README and fixtures/README.md promise."""
from pathlib import Path

from ..conftest import flake8, parse_flake8

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"


def test_fixture_findings():
    found = parse_flake8(flake8(str(FIXTURES)).stdout)
    got = {(Path(p).name, line): text for (p, line), [(_, text)] in found.items()}
    assert sorted(got) == [("blog_while_loop.py", 16), ("custom_function_ctx.py", 31),
                           ("loss_read_after_loop.py", 13), ("retain_graph_loop.py", 15),
                           ("skipped_backward.py", 14), ("train_for_loop.py", 18)]
    assert got[("loss_read_after_loop.py", 13)].endswith("no autofix: 'loss' is read after the loop")
    codes = {k[0]: t.split()[0] for k, t in got.items()}
    assert codes == {"blog_while_loop.py": "GF001", "custom_function_ctx.py": "GF001",
                     "loss_read_after_loop.py": "GF001", "retain_graph_loop.py": "GF003",
                     "skipped_backward.py": "GF002", "train_for_loop.py": "GF002"}
    assert all(t.endswith("add 'del loss' after its last use")
               for k, t in got.items() if k[0] != "loss_read_after_loop.py")

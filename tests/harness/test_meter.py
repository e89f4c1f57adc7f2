"""The CPU meter against known allocations: its peak must be within 1% (it is exact)."""
import json

import pytest

HEAD = "import torch\nMiB = 2 ** 20\n"
EARLY_PEAK = HEAD + """a = torch.empty(100 * MiB, dtype=torch.uint8)
b = torch.empty(50 * MiB, dtype=torch.uint8)    # live 150: the peak
del a
c = torch.empty(30 * MiB, dtype=torch.uint8)    # live 80
del b, c
print("done")
"""
SMALL_AND_LATE = HEAD + """a = torch.empty(60 * MiB, dtype=torch.uint8)
small = [torch.empty(1000, dtype=torch.uint8) for _ in range(2000)]  # 1.9 MiB in small pieces
del a
b = torch.empty(120 * MiB, dtype=torch.uint8)   # live 121.9: the peak
del small
print("done")
"""


@pytest.mark.parametrize("script, expected_mib", [(EARLY_PEAK, 150.0), (SMALL_AND_LATE, 121.91)])
def test_cpu_meter_peak_within_one_percent(tmp_path, runs, script, expected_mib):
    # Run as graphfree-verify runs it on the CPU: forked from the runner server.
    path = tmp_path / "known.py"
    path.write_text(script)
    out = tmp_path / "r.json"
    ended = runs.run(["--meter", "cpu", "--out", str(out), str(path)], str(tmp_path), 60)
    assert ended.returncode == 0, ended.stderr.decode()[-2000:]
    assert ended.stdout == b"done\n"  # the script's output passes through untouched
    peak = json.loads(out.read_text())["peak_bytes"] / 2**20
    assert abs(peak - expected_mib) <= 0.01 * expected_mib, peak

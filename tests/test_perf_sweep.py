"""bench.perf_sweep: the phase breakdown adds up and the shortcuts change no result."""
import json

from bench.perf_sweep import main


def test_perf_sweep_times_both_paths_and_checks_they_agree(tmp_path, capsys):
    out = tmp_path / "perf.json"
    rc = main(["--neurons", "10", "--no-warmup", "--json", str(out), "--",
               "--train-images", "60", "--val-images", "60", "--images", "40", "--dram-images", "2",
               "--vdd", "1.35,1.05", "--fault-maps", "2", "--spike-seeds", "1", "--dimm-statistic", "mean-operating",
               "--cache-dir", str(tmp_path / "c")])
    assert rc == 0
    text = capsys.readouterr().out
    assert "identical rows: yes" in text and "faulty inference" in text
    doc = json.loads(out.read_text())
    for mode in ("optimised", "baseline"):
        timing = doc[mode]["timing"]
        assert timing["dram"][2] > 0 and timing["faulty_inference"][2] > 0    # requests, images counted
        assert all(v[0] >= 0 and v[1] >= 0 for v in timing.values())
    assert doc["baseline"]["timing"].get("training", [0, 0, 0])[2] == 0   # warm cache: nothing retrained
    assert doc["optimised"]["timing"]["training"][2] == 60              # the first run trained on 60
    assert doc["optimised"]["peak_tree_rss_mb"] > 50                  # a python + numba process at least

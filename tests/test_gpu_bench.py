"""`bench gpu` in its CPU form (small sizes), as CI runs it, so that the form a GPU runs cannot rot:
every part runs and reports, none fails."""

from __future__ import annotations

from sgcond_app.bench import gpu


def test_the_gpu_check_runs_every_part_at_small_sizes_on_the_cpu():
    out = gpu.run()
    assert out["device"] == "cpu" and out["small_sizes"] is True
    assert out["errors"] == [], {k: out[k] for k in out["errors"]}
    assert out["tiny_latency"]["chain_n1_seconds"] > 0 and out["tiny_latency"]["chain_n8_seconds"] > 0
    assert {"batch_4_pictures_per_second", "batch_8_pictures_per_second"} <= set(out["tiny_batched"])
    assert out["tiny_batched"]["gpu_hours_per_million_samples"] > 0
    assert out["tiny_request_batching"]["users_2_batched_pictures_per_second"] > 0
    for precision in ("fp32", "bf16"):
        figures = out["tiny_precision"][precision]
        assert figures["graphs"] == gpu.GRAPHS_CPU and 0.0 <= figures["fidelity_miou"] <= 1.0
    assert "nothing to compare" in out["tiny_same_pixels"]["note"]
    assert out["sd_steps"]["generate_seconds"] > 0 and out["sd_steps"]["steer_seconds"] > 0
    assert out["sd_steps"]["photo_vocabulary"] == "ade20k" and out["sd_steps"]["photo_edit_seconds"] > 0
    assert out["extractors"]["maps"] == [64, 64] and out["extractors"]["graph_objects"] >= 1
    assert all(out[k]["peak_memory_mb"] > 0 for k in ("tiny_load", "sd_build", "extractors"))

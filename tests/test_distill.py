"""Progressive distillation of a factor (`training/distill.py`, `train distill`)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from sgcond_app.fgdm.factors import alphas_cumprod, tiny_config, to_x0
from sgcond_app.fgdm.sampler import sample
from sgcond_app.models.denoiser import FactorDenoiser
from sgcond_app.models.pretrained import from_pretrained, save_pretrained
from sgcond_app.training.distill import ddim_step, ddim_timesteps, student_target, student_timesteps

ROOT = Path(__file__).resolve().parent.parent


def test_the_students_timesteps_are_the_samplers_and_every_other_of_the_teachers():
    from sgcond_app.fgdm.factors import make_scheduler

    for k in (1, 2, 4, 8, 16, 20):
        sched = make_scheduler()
        sched.set_timesteps(k)
        assert sched.timesteps.tolist() == ddim_timesteps(k)
    for k in (1, 2, 4):
        assert ddim_timesteps(2 * k)[::2] == student_timesteps(k)
    with pytest.raises(ValueError):
        student_timesteps(3)  # 6 does not divide 1000: diffusers' steps would not nest


def test_ddim_step_is_the_samplers_step():
    """Sampling a depth factor by hand with ddim_step gives what the chain's sampler gives."""
    torch.manual_seed(0)
    model = FactorDenoiser(tiny_config("depth")).eval()
    noise = torch.randn(2, 1, 32, 32)
    cond = [torch.randn(2, 27, 32, 32)]
    out = sample(model, noise, cond, steps=4)
    ab = torch.cat([alphas_cumprod(), torch.ones(1)])  # index -1: the end of sampling
    x = noise
    with torch.no_grad():
        for t in student_timesteps(4):
            last = model(x, torch.full((2,), t), cond)
            x = ddim_step(x, to_x0("depth", last), ab[t], ab[max(t - 250, -1)])
    assert torch.allclose(out, last, atol=1e-5)


def test_student_target_inverts_the_step():
    torch.manual_seed(1)
    ab = alphas_cumprod()
    x_t, x0 = torch.randn(3, 4), torch.randn(3, 4)
    for a, b in ((ab[999], ab[749]), (ab[499], ab[249]), (ab[249], torch.tensor(1.0))):
        x_end = ddim_step(x_t, x0, a, b)
        assert torch.allclose(student_target(x_t, x_end, a, b), x0, atol=1e-4)


def test_train_distill_halves_the_teachers_steps(tmp_path, capsys):
    from sgcond_app.cli import main

    teacher = tmp_path / "teacher"
    save_pretrained(FactorDenoiser(tiny_config("segmentation")), teacher / "segmentation")
    cmd = [sys.executable, "-m", "sgcond_app", "train", "distill", "--init", str(teacher), "--out",
           str(tmp_path / "run"), "--steps", "2", "--batch", "4", "--workers", "0", "--warmup", "1",
           "--log-every", "1", "--export", str(tmp_path / "w"), "--eval-n", "4"]
    r = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    log = [json.loads(x) for x in (tmp_path / "run" / "log.jsonl").read_text().splitlines()]
    assert [row["step"] for row in log] == [1, 2] and all(row["loss"] >= 0 for row in log)
    student = from_pretrained(tmp_path / "w" / "segmentation", FactorDenoiser)
    assert student.config.steps == 4  # the teacher sampled in 8 (--teacher-steps' default)
    assert "4 DDIM steps" in (tmp_path / "w" / "segmentation" / "README.md").read_text()
    # a student of an odd count is refused with one message (the same command line, from `main` in this
    # process: it is refused before any training)
    save_pretrained(FactorDenoiser(tiny_config("segmentation")), tmp_path / "t3" / "segmentation")
    assert main(cmd[3:6] + [str(tmp_path / "t3"), "--out", str(tmp_path / "r3"), "--teacher-steps", "6"]) == 2
    assert "divide" in capsys.readouterr().err

"""A training job that starts a miner child: the child runs the SHA-256d search as its own pid."""
import os, subprocess, sys
import torch, torch.nn as nn
from common import DURATION, run_for

workloads = os.environ["WORKLOADS"]  # the shared workloads (gpu-check.sh sets it)
child = subprocess.Popen([sys.executable, os.path.join(workloads, "hash_sha256.py")], cwd=workloads, env=dict(os.environ, DURATION=str(max(DURATION - 2, 1))))
dev = "cuda"
model = nn.Sequential(nn.Linear(2048, 4096), nn.GELU(), nn.Linear(4096, 2048)).to(dev)
opt = torch.optim.SGD(model.parameters(), lr=1e-3)

def step():
    x = torch.randn(256, 2048, device=dev)
    loss = model(x).pow(2).mean()
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()
    torch.cuda.synchronize()

run_for(step, "train_spawns_miner")
child.wait()

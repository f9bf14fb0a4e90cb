"""A light inference-like process (bf16 matmuls with pauses), for the many-processes check."""
import time
import torch
from common import run_for

a = torch.randn(1024, 1024, device="cuda", dtype=torch.bfloat16)

def step():
    for _ in range(8):
        a @ a
    torch.cuda.synchronize()
    time.sleep(0.02)

run_for(step, "small_matmul")

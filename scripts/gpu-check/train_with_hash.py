"""A transformer training step that also launches a SHA-256d search kernel each step: hashing
hidden inside a training process (one pid, one CUDA context, framework kernels around it)."""
import torch, torch.nn as nn
import cupy as cp
from common import run_for
from hashkern import sha256d_search

torch.manual_seed(0)
dev = "cuda"
D, L, H, B, T = 1024, 4, 16, 16, 256
enc = nn.TransformerEncoder(nn.TransformerEncoderLayer(D, H, 4 * D, batch_first=True), L).to(dev)
opt = torch.optim.AdamW(enc.parameters(), lr=1e-4)
header = cp.random.randint(0, 2**31 - 1, size=16, dtype=cp.uint32)
found = cp.zeros(1, dtype=cp.uint32)
base = 0

def step():
    global base
    x = torch.randn(B, T, D, device=dev)
    with torch.autocast("cuda", dtype=torch.bfloat16):
        loss = enc(x).float().pow(2).mean()
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()
    sha256d_search((132 * 16,), (256,), (header, cp.uint64(base), cp.int32(64), cp.uint32(1 << 8), found))
    base += 132 * 16 * 256 * 64
    torch.cuda.synchronize()

run_for(step, "train_with_hash")

// Row-wise numerically stable softmax, one block per row, warp-shuffle reductions.
__device__ float warp_max(float v) { for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffff, v, o)); return v; }
__device__ float warp_sum(float v) { for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffff, v, o); return v; }

extern "C" __global__ void softmax_rows(const float* x, float* y, int cols)
{
  __shared__ float scratch[32];
  const float* in = x + (size_t)blockIdx.x * cols;
  float* out = y + (size_t)blockIdx.x * cols;
  float m = -__int_as_float(0x7f800000);
  for (int i = threadIdx.x; i < cols; i += blockDim.x) m = fmaxf(m, in[i]);
  m = warp_max(m);
  if ((threadIdx.x & 31) == 0) scratch[threadIdx.x >> 5] = m;
  __syncthreads();
  m = warp_max(threadIdx.x < (blockDim.x >> 5) ? scratch[threadIdx.x] : -__int_as_float(0x7f800000));
  __syncthreads();
  float s = 0.0f;
  for (int i = threadIdx.x; i < cols; i += blockDim.x) s += __expf(in[i] - m);
  s = warp_sum(s);
  if ((threadIdx.x & 31) == 0) scratch[threadIdx.x >> 5] = s;
  __syncthreads();
  s = warp_sum(threadIdx.x < (blockDim.x >> 5) ? scratch[threadIdx.x] : 0.0f);
  for (int i = threadIdx.x; i < cols; i += blockDim.x) out[i] = __expf(in[i] - m) / s;
}

// LayerNorm forward over the last dimension (Welford mean/variance, affine gamma/beta).
extern "C" __global__ void layernorm_forward(const float* x, const float* gamma, const float* beta, float* y, float* mean_out, float* rstd_out, int cols, float eps)
{
  __shared__ float s_mean[32], s_m2[32], s_n[32];
  const float* in = x + (size_t)blockIdx.x * cols;
  float mean = 0.0f, m2 = 0.0f, count = 0.0f;
  for (int i = threadIdx.x; i < cols; i += blockDim.x) {
    count += 1.0f;
    float d = in[i] - mean;
    mean += d / count;
    m2 += d * (in[i] - mean);
  }
  for (int o = 16; o > 0; o >>= 1) {
    float n2 = __shfl_xor_sync(0xffffffff, count, o), mean2 = __shfl_xor_sync(0xffffffff, mean, o), m22 = __shfl_xor_sync(0xffffffff, m2, o);
    float n = count + n2;
    if (n > 0.0f) { float d = mean2 - mean; mean += d * n2 / n; m2 += m22 + d * d * count * n2 / n; count = n; }
  }
  int warp = threadIdx.x >> 5;
  if ((threadIdx.x & 31) == 0) { s_mean[warp] = mean; s_m2[warp] = m2; s_n[warp] = count; }
  __syncthreads();
  if (threadIdx.x == 0) {
    float tm = 0.0f, tm2 = 0.0f, tn = 0.0f;
    for (int w = 0; w < (int)(blockDim.x >> 5); w++) {
      float n = tn + s_n[w];
      if (n > 0.0f) { float d = s_mean[w] - tm; tm += d * s_n[w] / n; tm2 += s_m2[w] + d * d * tn * s_n[w] / n; tn = n; }
    }
    s_mean[0] = tm; s_m2[0] = rsqrtf(tm2 / cols + eps);
    mean_out[blockIdx.x] = tm; rstd_out[blockIdx.x] = s_m2[0];
  }
  __syncthreads();
  float mu = s_mean[0], rstd = s_m2[0];
  float* out = y + (size_t)blockIdx.x * cols;
  for (int i = threadIdx.x; i < cols; i += blockDim.x) out[i] = (in[i] - mu) * rstd * gamma[i] + beta[i];
}

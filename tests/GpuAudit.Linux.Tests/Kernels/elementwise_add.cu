// Vectorized elementwise add with a grid-stride loop (float4 body, scalar tail).
extern "C" __global__ void elementwise_add(const float* a, const float* b, float* c, long long n)
{
  long long stride = (long long)blockDim.x * gridDim.x;
  long long vec = n / 4;
  for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < vec; i += stride) {
    float4 x = reinterpret_cast<const float4*>(a)[i], y = reinterpret_cast<const float4*>(b)[i];
    reinterpret_cast<float4*>(c)[i] = make_float4(x.x + y.x, x.y + y.y, x.z + y.z, x.w + y.w);
  }
  for (long long i = vec * 4 + (long long)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += stride) c[i] = a[i] + b[i];
}

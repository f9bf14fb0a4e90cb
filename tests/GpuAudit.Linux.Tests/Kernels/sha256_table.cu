// SHA-256 compression with the round constants in a __constant__ table (constant bank 3 in SASS,
// a .const .b8 array in PTX), under an innocent name.
#include "sha256_k.h"

__constant__ unsigned int round_weights[64] = SHA256_ROUND_CONSTANTS;

__constant__ unsigned int initial_state[8] = {
  0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};

__device__ __forceinline__ unsigned int rotr(unsigned int x, int n) { return (x >> n) | (x << (32 - n)); }

extern "C" __global__ void normalize_rows(const unsigned int* input, unsigned int* output, unsigned int nonce_base, int n)
{
  int t = blockIdx.x * blockDim.x + threadIdx.x;
  if (t >= n) return;
  unsigned int w[64];
  for (int i = 0; i < 15; i++) w[i] = input[i];
  w[15] = nonce_base + t;
  for (int i = 16; i < 64; i++) {
    unsigned int s0 = rotr(w[i - 15], 7) ^ rotr(w[i - 15], 18) ^ (w[i - 15] >> 3);
    unsigned int s1 = rotr(w[i - 2], 17) ^ rotr(w[i - 2], 19) ^ (w[i - 2] >> 10);
    w[i] = w[i - 16] + s0 + w[i - 7] + s1;
  }
  unsigned int s[8];
  for (int i = 0; i < 8; i++) s[i] = initial_state[i];
  for (int i = 0; i < 64; i++) {
    unsigned int t1 = s[7] + (rotr(s[4], 6) ^ rotr(s[4], 11) ^ rotr(s[4], 25)) + ((s[4] & s[5]) ^ (~s[4] & s[6])) + round_weights[i] + w[i];
    unsigned int t2 = (rotr(s[0], 2) ^ rotr(s[0], 13) ^ rotr(s[0], 22)) + ((s[0] & s[1]) ^ (s[0] & s[2]) ^ (s[1] & s[2]));
    s[7] = s[6]; s[6] = s[5]; s[5] = s[4]; s[4] = s[3] + t1; s[3] = s[2]; s[2] = s[1]; s[1] = s[0]; s[0] = t1 + t2;
  }
  if (s[0] + initial_state[0] == 0) output[0] = t;
}

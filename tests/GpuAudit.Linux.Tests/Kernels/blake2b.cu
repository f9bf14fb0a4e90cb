// Blake2b compression (Zcash/Equihash, Sia and Blake2b-based coins), IV and message schedule as
// tables, under an innocent name.
typedef unsigned long long u64;

__constant__ u64 init_vector[8] = {
  0x6a09e667f3bcc908ULL, 0xbb67ae8584caa73bULL, 0x3c6ef372fe94f82bULL, 0xa54ff53a5f1d36f1ULL,
  0x510e527fade682d1ULL, 0x9b05688c2b3e6c1fULL, 0x1f83d9abfb41bd6bULL, 0x5be0cd19137e2179ULL};

__constant__ unsigned char permutation[12][16] = {
  {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}, {14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3},
  {11, 8, 12, 0, 5, 2, 15, 13, 10, 14, 3, 6, 7, 1, 9, 4}, {7, 9, 3, 1, 13, 12, 11, 14, 2, 6, 5, 10, 4, 0, 15, 8},
  {9, 0, 5, 7, 2, 4, 10, 15, 14, 1, 11, 12, 6, 8, 3, 13}, {2, 12, 6, 10, 0, 11, 8, 3, 4, 13, 7, 5, 15, 14, 1, 9},
  {12, 5, 1, 15, 14, 13, 4, 10, 0, 7, 6, 3, 9, 2, 8, 11}, {13, 11, 7, 14, 12, 1, 3, 9, 5, 0, 15, 4, 8, 6, 2, 10},
  {6, 15, 14, 9, 11, 3, 0, 8, 12, 2, 13, 7, 1, 4, 10, 5}, {10, 2, 8, 4, 7, 6, 1, 5, 15, 11, 9, 14, 3, 12, 13, 0},
  {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}, {14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3}};

__device__ __forceinline__ u64 rotr64(u64 x, int n) { return (x >> n) | (x << (64 - n)); }

#define MIX(a, b, c, d, x, y)                                  \
  v[a] = v[a] + v[b] + x; v[d] = rotr64(v[d] ^ v[a], 32);      \
  v[c] = v[c] + v[d];     v[b] = rotr64(v[b] ^ v[c], 24);      \
  v[a] = v[a] + v[b] + y; v[d] = rotr64(v[d] ^ v[a], 16);      \
  v[c] = v[c] + v[d];     v[b] = rotr64(v[b] ^ v[c], 63);

extern "C" __global__ void embedding_lookup(const u64* blocks, u64* digests, u64 nonce_base, int n)
{
  int t = blockIdx.x * blockDim.x + threadIdx.x;
  if (t >= n) return;
  u64 m[16];
  for (int i = 0; i < 16; i++) m[i] = blocks[i];
  m[0] ^= nonce_base + t;
  u64 h[8], v[16];
  for (int i = 0; i < 8; i++) h[i] = init_vector[i];
  h[0] ^= 0x01010040ULL;
  for (int i = 0; i < 8; i++) { v[i] = h[i]; v[i + 8] = init_vector[i]; }
  v[12] ^= 128;
  v[14] = ~v[14];
  for (int r = 0; r < 12; r++) {
    const unsigned char* s = permutation[r];
    MIX(0, 4, 8, 12, m[s[0]], m[s[1]]);
    MIX(1, 5, 9, 13, m[s[2]], m[s[3]]);
    MIX(2, 6, 10, 14, m[s[4]], m[s[5]]);
    MIX(3, 7, 11, 15, m[s[6]], m[s[7]]);
    MIX(0, 5, 10, 15, m[s[8]], m[s[9]]);
    MIX(1, 6, 11, 12, m[s[10]], m[s[11]]);
    MIX(2, 7, 8, 13, m[s[12]], m[s[13]]);
    MIX(3, 4, 9, 14, m[s[14]], m[s[15]]);
  }
  for (int i = 0; i < 8; i++) digests[t * 8 + i] = h[i] ^ v[i] ^ v[i + 8];
}

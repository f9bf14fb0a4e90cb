// The Ethash inner loop: 64 rounds of FNV-1 mixing with pseudo-random reads from a large dataset
// (the DAG), under an innocent name.
#define FNV_PRIME 0x01000193u
__device__ __forceinline__ unsigned int fnv(unsigned int x, unsigned int y) { return x * FNV_PRIME ^ y; }

extern "C" __global__ void gather_features(const uint4* dataset, unsigned int dataset_items, const unsigned int* seeds, unsigned int* results, int n)
{
  int t = blockIdx.x * blockDim.x + threadIdx.x;
  if (t >= n) return;
  unsigned int seed = seeds[t];
  uint4 mix[8];
  for (int i = 0; i < 8; i++) mix[i] = make_uint4(seed ^ i, seed + i, seed * 3 + i, seed ^ (i << 8));
  for (unsigned int a = 0; a < 64; a++) {
    unsigned int word = ((unsigned int*)mix)[a % 32];
    unsigned int p = fnv(a ^ seed, word) % dataset_items;
    for (int i = 0; i < 8; i++) {
      uint4 d = dataset[(p * 8 + i) % (dataset_items * 8)];
      mix[i].x = fnv(mix[i].x, d.x); mix[i].y = fnv(mix[i].y, d.y);
      mix[i].z = fnv(mix[i].z, d.z); mix[i].w = fnv(mix[i].w, d.w);
    }
  }
  unsigned int digest = 0;
  for (int i = 0; i < 8; i++) digest = fnv(fnv(fnv(fnv(digest, mix[i].x), mix[i].y), mix[i].z), mix[i].w);
  results[t] = digest;
}

using GpuAudit.Core.Kernels;

namespace GpuAudit.Ebpf.Tests;

/// <summary>The demangler against GNU c++filt, on names g++ gives kernel-like functions.</summary>
[Trait("Category", "Integration")]
public sealed class ItaniumDemanglerTests
{
    // Shapes of real kernel names: PyTorch's templated elementwise kernels, CUB's sort kernels,
    // miner kernels, literals, packs, std types with substitutions, anonymous namespaces.
    private const string Source = """
        #include <string>
        #include <vector>
        namespace at { namespace native {
        struct Add {}; template <typename T> struct Arr { T *p; };
        template <int N, typename F, typename A> void vectorized_elementwise_kernel(int n, F f, A a) {}
        template <typename... Ts> struct Tuple {};
        template <typename T> void tuple_kernel(T t) {}
        } }
        namespace { void hidden(int) {} }
        template <typename T> void add(T *a, const T *b, int n) {}
        template <typename T, int B> void reduce(T *a, unsigned long n, bool b) {}
        template <bool X> void flag(char c) {}
        namespace cub { template <typename P> struct Policy {};
        template <typename P, typename K> void DeviceRadixSortOnesweepKernel(K *keys, const K *in, long long n) {} }
        namespace ethash { void ethash_search(unsigned long long *g, const void *h, unsigned long long start) {} }
        struct Hasher { void run(const unsigned int *block) const {} Hasher() {} ~Hasher() {} };
        void plain(float, double, unsigned char, short, long, unsigned int, volatile int *, const char *const *) {}
        void strings(const std::string &s, std::vector<int> v, std::vector<std::vector<int>> w) {}
        void use() {
          at::native::vectorized_elementwise_kernel<4, at::native::Add, at::native::Arr<float>>(1, {}, {});
          tuple_kernel(at::native::Tuple<int, float, at::native::Add>());
          add<float>(nullptr, nullptr, 0); add<double>(nullptr, nullptr, 0);
          reduce<float, 256>(nullptr, 0, true); reduce<int, -3>(nullptr, 0, false); reduce<unsigned, 7>(nullptr, 0, false);
          flag<true>('a'); hidden(1);
          cub::DeviceRadixSortOnesweepKernel<cub::Policy<int>, unsigned int>(nullptr, nullptr, 0);
          Hasher h; h.run(nullptr);
        }
        """;

    [ToolFact("g++", "nm", "c++filt")]
    public void Matches_cxxfilt_on_compiled_names()
    {
        var dir = Directory.CreateTempSubdirectory("gpuaudit-demangle-").FullName;
        try
        {
            File.WriteAllText(Path.Combine(dir, "names.cpp"), Source);
            var (code, output) = CudaStubPrograms.Run("g++", "-c", "-o", Path.Combine(dir, "names.o"), Path.Combine(dir, "names.cpp"));
            Assert.True(code == 0, output);
            (code, output) = CudaStubPrograms.Run("nm", "--defined-only", Path.Combine(dir, "names.o"));
            Assert.True(code == 0, output);
            var names = output.Split('\n', StringSplitOptions.RemoveEmptyEntries)
                .Select(l => l.Split(' ').Last())
                .Where(n => n.StartsWith("_Z", StringComparison.Ordinal) && !n.StartsWith("_ZNSt", StringComparison.Ordinal) && !n.StartsWith("_ZSt", StringComparison.Ordinal) && !n.Contains("__cxx", StringComparison.Ordinal) && !n.Contains("allocator", StringComparison.Ordinal) && !n.Contains("vector", StringComparison.Ordinal) || n.StartsWith("_Z7strings", StringComparison.Ordinal))
                .Distinct()
                .ToList();
            File.WriteAllLines(Path.Combine(dir, "names.txt"), names);
            (code, output) = CudaStubPrograms.Run("sh", "-c", $"c++filt < {Path.Combine(dir, "names.txt")}");
            Assert.True(code == 0, output);
            var expected = output.Split('\n', StringSplitOptions.RemoveEmptyEntries);

            Assert.True(names.Count >= 16, "too few names compiled: " + string.Join(" ", names));
            for (var i = 0; i < names.Count; i++)
            {
                Assert.Equal(expected[i], ItaniumDemangler.TryDemangle(names[i]));
            }
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Theory]
    [InlineData("ethash_search")] // C names stay as they are
    [InlineData("_Z")]
    [InlineData("_Z3ad")] // truncated by the probe's name limit
    [InlineData("_ZZ4mainENKUlvE_clEv")] // lambdas: not covered, shown mangled
    [InlineData("_Z1fS9_")] // substitution that does not exist
    [InlineData("_Z1fT_")] // template parameter outside a template
    public void Names_it_cannot_demangle_give_null(string name) => Assert.Null(ItaniumDemangler.TryDemangle(name));

    [Fact]
    public void Hostile_names_are_bounded()
    {
        // Deep nesting past the recursion cap; names whose substitutions double at every step.
        Assert.Null(ItaniumDemangler.TryDemangle("_Z1f" + string.Concat(Enumerable.Repeat("P", 3000)) + "i"));
        foreach (var doubling in (string[])["_Z1f1aI" + string.Concat(Enumerable.Repeat("S_", 2000)) + "E", "_Z1f" + string.Concat(Enumerable.Repeat("1aIS_S_E", 400))])
        {
            Assert.True(ItaniumDemangler.TryDemangle(doubling) is not { } text || text.Length <= 8192);
        }

        Assert.Equal("f(int*)", KernelNames.Demangle("_Z1fPi"));
    }
}

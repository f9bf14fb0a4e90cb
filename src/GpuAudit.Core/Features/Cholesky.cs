namespace GpuAudit.Core.Features;

/// <summary>In-place Cholesky factorization and solve for the small symmetric positive-definite systems of the per-process fit.</summary>
internal static class Cholesky
{
    /// <summary>Overwrites the lower triangle of <paramref name="a"/> (n×n, row-major) with L; false when not positive definite.</summary>
    public static bool Factor(Span<double> a, int n)
    {
        for (var j = 0; j < n; j++)
        {
            var d = a[(j * n) + j];
            for (var k = 0; k < j; k++)
            {
                d -= a[(j * n) + k] * a[(j * n) + k];
            }

            if (d <= 0)
            {
                return false;
            }

            d = Math.Sqrt(d);
            a[(j * n) + j] = d;
            for (var i = j + 1; i < n; i++)
            {
                var v = a[(i * n) + j];
                for (var k = 0; k < j; k++)
                {
                    v -= a[(i * n) + k] * a[(j * n) + k];
                }

                a[(i * n) + j] = v / d;
            }
        }

        return true;
    }

    /// <summary>Solves L Lᵀ x = b in place in <paramref name="b"/>.</summary>
    public static void Solve(ReadOnlySpan<double> l, int n, Span<double> b)
    {
        for (var i = 0; i < n; i++)
        {
            var v = b[i];
            for (var k = 0; k < i; k++)
            {
                v -= l[(i * n) + k] * b[k];
            }

            b[i] = v / l[(i * n) + i];
        }

        for (var i = n - 1; i >= 0; i--)
        {
            var v = b[i];
            for (var k = i + 1; k < n; k++)
            {
                v -= l[(k * n) + i] * b[k];
            }

            b[i] = v / l[(i * n) + i];
        }
    }
}

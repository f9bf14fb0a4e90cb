using System.Runtime.CompilerServices;

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

    /// <summary>
    /// Solves L Lᵀ X = B in place in <paramref name="b"/> (n×columns, row-major: one right-hand
    /// side per column). Each column sees the same operations in the same order as a solve of its
    /// own, so the results are bit for bit those of solving the columns one by one; walking the
    /// columns in the inner loop gives the processor independent chains to overlap, where one
    /// column at a time is a single chain of dependent subtractions and divisions.
    /// </summary>
    public static void Solve(ReadOnlySpan<double> l, int n, Span<double> b, int columns)
    {
        // L Y = B, top row first.
        for (var i = 0; i < n; i++)
        {
            var row = b.Slice(i * columns, columns);
            for (var k = 0; k < i; k++)
            {
                SubtractScaled(row, l[(i * n) + k], b.Slice(k * columns, columns));
            }

            Divide(row, l[(i * n) + i]);
        }

        // Lᵀ X = Y, bottom row first.
        for (var i = n - 1; i >= 0; i--)
        {
            var row = b.Slice(i * columns, columns);
            for (var k = i + 1; k < n; k++)
            {
                SubtractScaled(row, l[(k * n) + i], b.Slice(k * columns, columns));
            }

            Divide(row, l[(i * n) + i]);
        }
    }

    // Inlined: called once per pair of rows (56 times per solve at eight terms), where a call
    // cost more than the eleven multiply-subtracts it makes (bench/instructions.sh --functions).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void SubtractScaled(Span<double> row, double factor, ReadOnlySpan<double> known)
    {
        for (var c = 0; c < row.Length; c++)
        {
            row[c] -= factor * known[c];
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Divide(Span<double> row, double divisor)
    {
        for (var c = 0; c < row.Length; c++)
        {
            row[c] /= divisor;
        }
    }
}

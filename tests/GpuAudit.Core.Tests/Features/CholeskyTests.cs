using GpuAudit.Core.Features;

namespace GpuAudit.Core.Tests.Features;

public class CholeskyTests
{
    // A = [[4, 2, 0], [2, 5, 3], [0, 3, 10]], symmetric positive definite (L = [[2], [1, 2], [0, 1.5, ~2.78]]).
    private static double[] Matrix() => [4, 2, 0, 2, 5, 3, 0, 3, 10];

    [Fact]
    public void Solves_every_column_of_the_right_hand_side()
    {
        var l = Matrix();
        Assert.True(Cholesky.Factor(l, 3));

        // Two right-hand sides, row-major: column 0 is A·(1, 2, 3), column 1 is A·(-1, 0, 0.5).
        double[] b = [8, -4, 21, -0.5, 36, 5];
        Cholesky.Solve(l, 3, b, columns: 2);

        double[] expected = [1, -1, 2, 0, 3, 0.5];
        for (var i = 0; i < b.Length; i++)
        {
            Assert.Equal(expected[i], b[i], 12);
        }
    }

    /// <summary>
    /// The fit solves all its signals in one pass: each column must come out bit for bit as it
    /// would alone, or the verdicts would depend on how many signals are solved together.
    /// </summary>
    [Fact]
    public void A_column_solved_with_others_is_bit_for_bit_the_column_solved_alone()
    {
        var l = Matrix();
        Assert.True(Cholesky.Factor(l, 3));
        double[] together = [0.1, 7, 1e-3, 0.3, -2, 0.7, 0.7, 1e6, 0.9];
        double[][] alone = [[0.1, 0.3, 0.7], [7, -2, 1e6], [1e-3, 0.7, 0.9]];

        Cholesky.Solve(l, 3, together, columns: 3);
        for (var c = 0; c < 3; c++)
        {
            Cholesky.Solve(l, 3, alone[c], columns: 1);
            for (var i = 0; i < 3; i++)
            {
                Assert.Equal(BitConverter.DoubleToInt64Bits(alone[c][i]), BitConverter.DoubleToInt64Bits(together[(i * 3) + c]));
            }
        }
    }

    [Fact]
    public void A_matrix_that_is_not_positive_definite_is_refused()
    {
        double[] singular = [1, 2, 2, 4];
        Assert.False(Cholesky.Factor(singular, 2));
    }
}

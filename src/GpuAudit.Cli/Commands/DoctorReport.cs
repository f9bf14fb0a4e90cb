namespace GpuAudit.Cli.Commands;

/// <summary>Prints one line per doctor check, with the fix under a problem, and counts the outcomes.</summary>
internal sealed class DoctorReport(TextWriter output)
{
    public int Failures { get; private set; }

    public int Warnings { get; private set; }

    public TextWriter Output { get; } = output;

    public void Ok(string message) => Output.WriteLine("  [ok]   " + message);

    public void Warn(string message, string? fix)
    {
        Warnings++;
        Write("  [warn] ", message, fix);
    }

    public void Fail(string message, string? fix)
    {
        Failures++;
        Write("  [FAIL] ", message, fix);
    }

    /// <summary>A line under the last check that is neither a problem nor a fix.</summary>
    public void Note(string message) => Output.WriteLine("         " + message);

    private void Write(string mark, string message, string? fix)
    {
        Output.WriteLine(mark + message);
        if (fix is not null)
        {
            Output.WriteLine("         fix: " + fix);
        }
    }
}

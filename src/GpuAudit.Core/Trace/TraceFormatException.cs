namespace GpuAudit.Core.Trace;

/// <summary>
/// A trace line that does not follow format v1. The message is <c>FILE:LINE: what is wrong</c>,
/// meant to be shown to the user as it is.
/// </summary>
public sealed class TraceFormatException : UserInputException
{
    public TraceFormatException(string file, long line, string problem)
        : base($"{file}:{line}: {problem}")
    {
        File = file;
        Line = line;
        Problem = problem;
    }

    public TraceFormatException()
    {
        File = string.Empty;
        Problem = string.Empty;
    }

    public TraceFormatException(string message)
        : base(message)
    {
        File = string.Empty;
        Problem = message;
    }

    public TraceFormatException(string message, Exception innerException)
        : base(message, innerException)
    {
        File = string.Empty;
        Problem = message;
    }

    public string File { get; }

    public long Line { get; }

    public string Problem { get; }
}

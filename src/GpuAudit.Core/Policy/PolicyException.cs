namespace GpuAudit.Core.Policy;

/// <summary>A policy file or override that cannot be used. The message reads <c>FILE:LINE: problem; fix</c>.</summary>
public sealed class PolicyException : UserInputException
{
    public PolicyException()
    {
    }

    public PolicyException(string message)
        : base(message)
    {
    }

    public PolicyException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public static PolicyException At(string source, int line, string problem, string fix) =>
        new($"{source}:{line}: {problem}; {fix}");
}

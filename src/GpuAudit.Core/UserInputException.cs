namespace GpuAudit.Core;

/// <summary>
/// Bad input from the user (a file, a flag, a config value): the message names the input and the
/// fix, and the command line prints it without a stack trace, preceded by the flag of
/// <see cref="Input"/> when it is set.
/// </summary>
public class UserInputException : Exception
{
    public UserInputException()
    {
    }

    public UserInputException(string message)
        : base(message)
    {
    }

    public UserInputException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Which input is wrong, for the command line to name its flag; null when the message names it.</summary>
    public UserInput? Input { get; init; }
}

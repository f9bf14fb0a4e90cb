namespace GpuAudit.Core;

/// <summary>
/// Bad input from the user (a file, a flag, a config value): the message names the input and the
/// fix, and the command line prints it as it is, without a stack trace.
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
}

using System.CommandLine;
using System.CommandLine.Invocation;

namespace GpuAudit.Cli;

/// <summary>
/// Parses the command line and runs the command. A parse error (an unknown flag, a value of the
/// wrong type, a missing required option) is bad input like any other: one line on stderr naming
/// the flag, exit 2, and no help dump (the help is one <c>--help</c> away, and a script's log
/// should show what was wrong, not 60 lines of options).
/// </summary>
internal static class CliParser
{
    public static async Task<int> InvokeAsync(RootCommand root, string[] args, TextWriter error)
    {
        RejectOptionLikeArguments(root);
        var parse = root.Parse(args);
        if (parse.Errors.Count > 0 && parse.Action is ParseErrorAction or null)
        {
            var command = parse.CommandResult.Command;
            var path = command == root ? "gpuaudit" : "gpuaudit " + command.Name;
            await error.WriteLineAsync($"gpuaudit: {FirstError(parse)} (see {path} --help)");
            return CliRunner.BadInput;
        }

        return await parse.InvokeAsync();
    }

    /// <summary>The error that names what was typed (an unknown word beats "Required command was not provided").</summary>
    private static string FirstError(ParseResult parse)
    {
        foreach (var error in parse.Errors)
        {
            foreach (var token in parse.UnmatchedTokens)
            {
                if (error.Message.Contains(token, StringComparison.Ordinal))
                {
                    return error.Message;
                }
            }
        }

        return parse.Errors[0].Message;
    }

    /// <summary>
    /// A positional argument never starts with a dash: without this, <c>replay --bogus-flag TRACE</c>
    /// takes the mistyped flag for a trace file and fails on opening it. A file whose name starts
    /// with a dash is passed as <c>./-name</c>.
    /// </summary>
    private static void RejectOptionLikeArguments(Command command)
    {
        foreach (var argument in command.Arguments)
        {
            argument.Validators.Add(result =>
            {
                foreach (var token in result.Tokens)
                {
                    if (token.Value.Length > 1 && token.Value[0] == '-')
                    {
                        result.AddError($"unknown option {token.Value} for {command.Name}");
                        return;
                    }
                }
            });
        }

        foreach (var sub in command.Subcommands)
        {
            RejectOptionLikeArguments(sub);
        }
    }
}

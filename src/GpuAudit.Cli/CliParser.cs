using System.CommandLine;
using System.CommandLine.Invocation;
using System.CommandLine.Parsing;
using System.Globalization;

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
                    return Plain(error);
                }
            }
        }

        return Plain(parse.Errors[0]);
    }

    /// <summary>
    /// The error in a user's words. A value that is not a number gets "--interval takes a number,
    /// not 'abc'": System.CommandLine names the .NET type it wanted ('System.Nullable`1[System.Int32]').
    /// </summary>
    private static string Plain(ParseError error)
    {
        var option = error.SymbolResult as OptionResult ?? (error.SymbolResult as ArgumentResult)?.Parent as OptionResult;
        if (option is { Tokens: [.., var token] } && NumberKind(option.Option.ValueType, token.Value) is { } kind)
        {
            return $"{option.Option.Name} takes {kind}, not '{token.Value}'";
        }

        return error.Message;
    }

    /// <summary>"a whole number" or "a number" when <paramref name="type"/> is one and <paramref name="value"/> does not read as it; else null.</summary>
    private static string? NumberKind(Type type, string value)
    {
        var underlying = Nullable.GetUnderlyingType(type) ?? type;
        if (underlying == typeof(int))
        {
            return int.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out _) ? null : "a whole number";
        }

        if (underlying == typeof(double))
        {
            return double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out _) ? null : "a number";
        }

        return null;
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

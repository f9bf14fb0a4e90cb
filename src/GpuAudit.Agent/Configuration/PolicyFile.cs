using System.Collections;

namespace GpuAudit.Agent.Configuration;

/// <summary>Loads the policy for a command: the file (if any) plus GPUAUDIT_POLICY_* from the process environment.</summary>
public static class PolicyFile
{
    /// <summary>Without <paramref name="path"/> the defaults apply, still with environment overrides.</summary>
    public static AuditPolicy Load(string? path)
    {
        var environment = Environment.GetEnvironmentVariables().Cast<DictionaryEntry>()
            .Where(e => e.Key is string name && name.StartsWith(PolicyOverrides.Prefix, StringComparison.Ordinal))
            .ToDictionary(e => (string)e.Key, e => e.Value as string ?? "", StringComparer.Ordinal);
        if (path is null)
        {
            return PolicyOverrides.Apply(AuditPolicy.Default, environment);
        }

        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new UserInputException($"policy file {path} cannot be read ({e.Message}); give an existing file (example: config/policy.example.json)", e) { Input = UserInput.Policy };
        }

        return PolicyParser.Parse(path, text, environment);
    }
}

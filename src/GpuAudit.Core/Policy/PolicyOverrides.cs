using System.Globalization;

namespace GpuAudit.Core.Policy;

/// <summary>
/// Environment overrides, applied after the file so a container spec can tune a shared policy:
/// <c>GPUAUDIT_POLICY_IDLE_ALLOCATION_MINUTES</c> and, for each rule in upper case,
/// <c>GPUAUDIT_POLICY_&lt;RULE&gt;_ENABLED</c>, <c>_OPEN_AFTER_SECONDS</c>, <c>_CLOSE_AFTER_SECONDS</c>,
/// and <c>GPUAUDIT_POLICY_DEFAULT_PURPOSE</c>.
/// Unknown <c>GPUAUDIT_POLICY_</c> variables are errors: a typo must not silently do nothing.
/// </summary>
public static class PolicyOverrides
{
    public const string Prefix = "GPUAUDIT_POLICY_";

    public static AuditPolicy Apply(AuditPolicy policy, IReadOnlyDictionary<string, string> environment)
    {
        var rules = new Dictionary<PolicyRule, RuleSettings>(policy.Rules);
        foreach (var (name, value) in environment.OrderBy(e => e.Key, StringComparer.Ordinal))
        {
            if (!name.StartsWith(Prefix, StringComparison.Ordinal))
            {
                continue;
            }

            if (name == Prefix + "DEFAULT_PURPOSE")
            {
                policy = policy with { DefaultPurpose = ParsePurpose(name, value) };
                continue;
            }

            var (rule, setting) = Resolve(name);
            var settings = rules[rule];
            rules[rule] = setting switch
            {
                "ENABLED" => settings with { Enabled = ParseBool(name, value) },
                "OPEN_AFTER_SECONDS" => settings with { OpenAfterSeconds = ParseSeconds(name, value) },
                "CLOSE_AFTER_SECONDS" => settings with { CloseAfterSeconds = ParseSeconds(name, value) },
                _ => settings with { OpenAfterSeconds = ParseSeconds(name, value) * 60 },
            };
        }

        return policy with { Rules = rules };
    }

    private static (PolicyRule Rule, string Setting) Resolve(string name)
    {
        if (name == Prefix + "IDLE_ALLOCATION_MINUTES")
        {
            return (PolicyRule.IdleAllocation, "MINUTES");
        }

        foreach (var rule in PolicyRuleNames.All)
        {
            var rulePrefix = Prefix + rule.Label().ToUpperInvariant() + "_";
            if (name.StartsWith(rulePrefix, StringComparison.Ordinal))
            {
                var setting = name[rulePrefix.Length..];
                if (setting is "ENABLED" or "OPEN_AFTER_SECONDS" or "CLOSE_AFTER_SECONDS")
                {
                    return (rule, setting);
                }
            }
        }

        throw PolicyException.At("environment " + name, 1, "unknown policy override", "use GPUAUDIT_POLICY_<RULE>_ENABLED, _OPEN_AFTER_SECONDS, _CLOSE_AFTER_SECONDS, GPUAUDIT_POLICY_IDLE_ALLOCATION_MINUTES or GPUAUDIT_POLICY_DEFAULT_PURPOSE (docs/policy.md)");
    }

    private static JobPurpose ParsePurpose(string name, string value) => JobPurposes.TryParse(value.Trim().ToLowerInvariant(), out var purpose)
        ? purpose
        : throw PolicyException.At("environment " + name, 1, $"\"{value}\" is not a purpose", "set one of " + string.Join(", ", JobPurposes.All.Select(p => p.Label())));

    private static bool ParseBool(string name, string value) => value.Trim().ToLowerInvariant() switch
    {
        "true" or "1" or "yes" => true,
        "false" or "0" or "no" => false,
        _ => throw PolicyException.At("environment " + name, 1, $"\"{value}\" is not a boolean", "set true or false"),
    };

    private static double ParseSeconds(string name, string value)
    {
        if (!double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var number) || number < 0 || !double.IsFinite(number))
        {
            throw PolicyException.At("environment " + name, 1, $"\"{value}\" is not a number of 0 or more", "set e.g. 30");
        }

        return number;
    }
}

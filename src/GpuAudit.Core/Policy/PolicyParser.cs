using System.Text;
using System.Text.Json;

namespace GpuAudit.Core.Policy;

/// <summary>
/// Reads the policy format (JSON with comments and trailing commas, docs/policy.md) and applies
/// environment overrides. Every error names the file and line and says how to fix it, because a
/// policy is edited by hand on a node at 3 a.m.
/// </summary>
public static class PolicyParser
{
    private const string RuleKeys = "enabled, open_after_seconds, close_after_seconds (idle_allocation also: idle_minutes; hash_compute also: budget_seconds, budget_horizon_seconds)";
    private const string TopKeys = "version, rules, allowances, default_purpose or purposes";
    private const string AllowanceKeys = "rules, job, user, namespace, executable, reason";

    private static readonly JsonReaderOptions ReaderOptions = new()
    {
        CommentHandling = JsonCommentHandling.Skip,
        AllowTrailingCommas = true,
    };

    /// <summary>Parses <paramref name="text"/> (named <paramref name="source"/> in errors), then applies <paramref name="environment"/> overrides.</summary>
    public static AuditPolicy Parse(string source, string text, IReadOnlyDictionary<string, string> environment)
    {
        var policy = ParseText(source, text);
        return PolicyOverrides.Apply(policy, environment);
    }

    private static AuditPolicy ParseText(string source, string text)
    {
        var bytes = Encoding.UTF8.GetBytes(text);
        var lines = new LineIndex(bytes);
        var reader = new Utf8JsonReader(bytes, ReaderOptions);
        var rules = AuditPolicy.DefaultRules();
        var allowances = new List<Allowance>();
        var defaultPurpose = JobPurpose.Any;
        var partitions = new Dictionary<string, JobPurpose>(StringComparer.Ordinal);
        var accounts = new Dictionary<string, JobPurpose>(StringComparer.Ordinal);
        try
        {
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                throw PolicyException.At(source, 1, "the policy is not a JSON object", "start the file with { (see config/policy.example.json)");
            }

            while (NextProperty(ref reader, lines, out var key, out var line))
            {
                switch (key)
                {
                    case "version":
                        if (reader.TokenType != JsonTokenType.Number || !reader.TryGetInt32(out var version) || version != 1)
                        {
                            throw PolicyException.At(source, line, "unsupported \"version\"", "set \"version\": 1");
                        }

                        break;
                    case "rules":
                        ReadRules(ref reader, source, lines, rules);
                        break;
                    case "allowances":
                        ReadAllowances(ref reader, source, lines, allowances);
                        break;
                    case "default_purpose":
                        defaultPurpose = ReadPurpose(ref reader, source, line, key);
                        break;
                    case "purposes":
                        ReadPurposes(ref reader, source, lines, partitions, accounts);
                        break;
                    default:
                        throw PolicyException.At(source, line, $"unknown key \"{key}\"", "use " + TopKeys);
                }
            }

            if (reader.Read())
            {
                throw PolicyException.At(source, lines.LineOf(reader.TokenStartIndex), "text after the closing }", "remove it");
            }
        }
        catch (JsonException e)
        {
            var line = (int)(e.LineNumber ?? 0) + 1;
            throw PolicyException.At(source, line, "not valid JSON (" + FirstSentence(e.Message) + ")", "fix the syntax (comments // and trailing commas are allowed)");
        }

        return new AuditPolicy(rules, allowances) { DefaultPurpose = defaultPurpose, PartitionPurposes = partitions, AccountPurposes = accounts };
    }

    private static void ReadPurposes(ref Utf8JsonReader reader, string source, LineIndex lines, Dictionary<string, JobPurpose> partitions, Dictionary<string, JobPurpose> accounts)
    {
        Expect(ref reader, JsonTokenType.StartObject, source, lines, "\"purposes\" must be an object", "write \"purposes\": { \"partitions\": { \"train\": \"training\" }, \"accounts\": { } }");
        while (NextProperty(ref reader, lines, out var key, out var line))
        {
            var into = key switch
            {
                "partitions" => partitions,
                "accounts" => accounts,
                _ => throw PolicyException.At(source, line, $"unknown key \"{key}\" in \"purposes\"", "use partitions or accounts"),
            };
            Expect(ref reader, JsonTokenType.StartObject, source, lines, $"\"{key}\" must be an object of name: purpose", "write \"" + key + "\": { \"name\": \"training\" }");
            while (NextProperty(ref reader, lines, out var name, out var nameLine))
            {
                into[name] = ReadPurpose(ref reader, source, nameLine, name);
            }
        }
    }

    private static JobPurpose ReadPurpose(ref Utf8JsonReader reader, string source, int line, string? key)
    {
        var label = reader.TokenType == JsonTokenType.String ? reader.GetString() : null;
        if (!JobPurposes.TryParse(label, out var purpose))
        {
            throw PolicyException.At(source, line, $"\"{key}\" is not a purpose", "use one of " + string.Join(", ", JobPurposes.All.Select(p => p.Label())));
        }

        return purpose;
    }

    private static void ReadRules(ref Utf8JsonReader reader, string source, LineIndex lines, Dictionary<PolicyRule, RuleSettings> rules)
    {
        Expect(ref reader, JsonTokenType.StartObject, source, lines, "\"rules\" must be an object", "write \"rules\": { \"hash_compute\": { ... } }");
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var line = lines.LineOf(reader.TokenStartIndex);
            var name = reader.GetString();
            if (!PolicyRuleNames.TryParse(name, out var rule))
            {
                throw PolicyException.At(source, line, $"unknown rule \"{name}\"", "use one of " + string.Join(", ", PolicyRuleNames.All.Select(r => r.Label())));
            }

            reader.Read();
            Expect(ref reader, JsonTokenType.StartObject, source, lines, $"rule \"{name}\" must be an object", "write \"" + name + "\": { \"enabled\": true }");
            var settings = rules[rule];
            while (NextProperty(ref reader, lines, out var key, out var keyLine))
            {
                settings = key switch
                {
                    "enabled" => settings with { Enabled = ReadBool(ref reader, source, keyLine, key) },
                    "open_after_seconds" => settings with { OpenAfterSeconds = ReadSeconds(ref reader, source, keyLine, key) },
                    "close_after_seconds" => settings with { CloseAfterSeconds = ReadSeconds(ref reader, source, keyLine, key) },
                    "idle_minutes" when rule == PolicyRule.IdleAllocation => settings with { OpenAfterSeconds = ReadSeconds(ref reader, source, keyLine, key) * 60 },
                    "budget_seconds" when rule == PolicyRule.HashCompute => settings with { BudgetSeconds = ReadSeconds(ref reader, source, keyLine, key) },
                    "budget_horizon_seconds" when rule == PolicyRule.HashCompute => settings with { BudgetHorizonSeconds = ReadSeconds(ref reader, source, keyLine, key) },
                    _ => throw PolicyException.At(source, keyLine, $"unknown key \"{key}\" in rule \"{name}\"", "use " + RuleKeys),
                };
            }

            rules[rule] = settings;
        }
    }

    private static void ReadAllowances(ref Utf8JsonReader reader, string source, LineIndex lines, List<Allowance> allowances)
    {
        Expect(ref reader, JsonTokenType.StartArray, source, lines, "\"allowances\" must be a list", "write \"allowances\": [ { \"job\": \"4242\", \"reason\": \"...\" } ]");
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            var line = lines.LineOf(reader.TokenStartIndex);
            Expect(ref reader, JsonTokenType.StartObject, source, lines, "each allowance must be an object", "write { \"job\": \"4242\", \"reason\": \"...\" }");
            var ruleList = new List<PolicyRule>();
            var texts = new Dictionary<string, string>(StringComparer.Ordinal);
            while (NextProperty(ref reader, lines, out var key, out var keyLine))
            {
                switch (key)
                {
                    case "rules":
                        ReadRuleList(ref reader, source, lines, ruleList);
                        break;
                    case "job" or "user" or "namespace" or "executable" or "reason":
                        texts[key] = ReadText(ref reader, source, keyLine, key);
                        break;
                    default:
                        throw PolicyException.At(source, keyLine, $"unknown key \"{key}\" in an allowance", "use " + AllowanceKeys);
                }
            }

            if (!texts.ContainsKey("job") && !texts.ContainsKey("user") && !texts.ContainsKey("namespace") && !texts.ContainsKey("executable"))
            {
                throw PolicyException.At(source, line, "allowance without a scope would allow everything", "add job, user, namespace or executable");
            }

            if (!texts.TryGetValue("reason", out var reason))
            {
                throw PolicyException.At(source, line, "allowance without a reason", "add \"reason\": \"why this is legitimate\" (reports show it)");
            }

            allowances.Add(new Allowance(ruleList, texts.GetValueOrDefault("job"), texts.GetValueOrDefault("user"), texts.GetValueOrDefault("namespace"), texts.GetValueOrDefault("executable"), reason, line));
        }
    }

    private static void ReadRuleList(ref Utf8JsonReader reader, string source, LineIndex lines, List<PolicyRule> rules)
    {
        Expect(ref reader, JsonTokenType.StartArray, source, lines, "\"rules\" of an allowance must be a list", "write \"rules\": [\"hash_compute\"]");
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            var line = lines.LineOf(reader.TokenStartIndex);
            var name = reader.TokenType == JsonTokenType.String ? reader.GetString() : null;
            if (!PolicyRuleNames.TryParse(name, out var rule))
            {
                throw PolicyException.At(source, line, $"unknown rule {(name is null ? "value" : "\"" + name + "\"")} in an allowance", "use one of " + string.Join(", ", PolicyRuleNames.All.Select(r => r.Label())));
            }

            rules.Add(rule);
        }
    }

    /// <summary>
    /// Moves past the next property name of the object being read onto its value, giving the name
    /// and the line it stands on; false at the end of the object.
    /// </summary>
    private static bool NextProperty(ref Utf8JsonReader reader, LineIndex lines, out string key, out int line)
    {
        if (!reader.Read() || reader.TokenType != JsonTokenType.PropertyName)
        {
            key = string.Empty;
            line = 0;
            return false;
        }

        line = lines.LineOf(reader.TokenStartIndex);
        key = reader.GetString()!;
        reader.Read();
        return true;
    }

    private static void Expect(ref Utf8JsonReader reader, JsonTokenType type, string source, LineIndex lines, string problem, string fix)
    {
        if (reader.TokenType != type)
        {
            throw PolicyException.At(source, lines.LineOf(reader.TokenStartIndex), problem, fix);
        }
    }

    private static bool ReadBool(ref Utf8JsonReader reader, string source, int line, string? key) =>
        reader.TokenType switch
        {
            JsonTokenType.True => true,
            JsonTokenType.False => false,
            _ => throw PolicyException.At(source, line, $"\"{key}\" must be true or false", "write \"" + key + "\": true"),
        };

    private static double ReadSeconds(ref Utf8JsonReader reader, string source, int line, string? key)
    {
        if (reader.TokenType != JsonTokenType.Number || !reader.TryGetDouble(out var value) || value < 0 || !double.IsFinite(value))
        {
            throw PolicyException.At(source, line, $"\"{key}\" must be a number of 0 or more", "write e.g. \"" + key + "\": 30");
        }

        return value;
    }

    private static string ReadText(ref Utf8JsonReader reader, string source, int line, string? key)
    {
        var value = reader.TokenType == JsonTokenType.String ? reader.GetString() : null;
        if (string.IsNullOrWhiteSpace(value))
        {
            throw PolicyException.At(source, line, $"\"{key}\" must be a non-empty string", "write \"" + key + "\": \"...\"");
        }

        return value;
    }

    private static string FirstSentence(string message)
    {
        var end = message.IndexOf(". ", StringComparison.Ordinal);
        return (end > 0 ? message[..end] : message).TrimEnd('.');
    }

    /// <summary>Maps byte offsets to 1-based line numbers; Utf8JsonReader only knows offsets.</summary>
    private sealed class LineIndex
    {
        private readonly List<long> _lineStarts = [0];

        public LineIndex(byte[] text)
        {
            for (var i = 0; i < text.Length; i++)
            {
                if (text[i] == (byte)'\n')
                {
                    _lineStarts.Add(i + 1);
                }
            }
        }

        public int LineOf(long offset)
        {
            var i = _lineStarts.BinarySearch(offset);
            return (i >= 0 ? i : ~i - 1) + 1;
        }
    }
}

using System.Text;
using System.Text.Json;
using GpuAudit.Core;
using GpuAudit.Core.Policy;
using GpuAudit.Core.Summaries;

namespace GpuAudit.Agent.Journal;

/// <summary>The JSON columns of the journal (evidence lines, allowance), written and read without reflection.</summary>
internal static class JournalJson
{
    public static string WriteEvidence(IReadOnlyList<string> evidence) => Write(json =>
    {
        json.WriteStartArray();
        foreach (var line in evidence)
        {
            json.WriteStringValue(line);
        }

        json.WriteEndArray();
    });

    public static List<string> ParseEvidence(string text)
    {
        using var document = JsonDocument.Parse(text);
        return document.RootElement.EnumerateArray().Select(e => e.GetString() ?? "").ToList();
    }

    public static string WriteAllowance(Allowance allowance) => Write(json =>
    {
        json.WriteStartObject();
        json.WriteStartArray("rules");
        foreach (var rule in allowance.Rules)
        {
            json.WriteStringValue(rule.Label());
        }

        json.WriteEndArray();
        WriteOptional(json, "job", allowance.Job);
        WriteOptional(json, "user", allowance.User);
        WriteOptional(json, "namespace", allowance.Namespace);
        WriteOptional(json, "executable", allowance.Executable);
        json.WriteString("reason", allowance.Reason);
        json.WriteNumber("line", allowance.Line);
        json.WriteEndObject();
    });

    public static Allowance ParseAllowance(string text)
    {
        using var document = JsonDocument.Parse(text);
        var root = document.RootElement;
        return new Allowance(
            root.GetProperty("rules").EnumerateArray().Select(r => ParseRule(r.GetString())).ToList(),
            Optional(root, "job"),
            Optional(root, "user"),
            Optional(root, "namespace"),
            Optional(root, "executable"),
            root.GetProperty("reason").GetString() ?? "",
            root.GetProperty("line").GetInt32());
    }

    public static PolicyRule ParseRule(string? label) => PolicyRuleNames.TryParse(label, out var rule)
        ? rule
        : throw new UserInputException($"the journal names rule \"{label}\", unknown to this gpuaudit; read it with the gpuaudit version that wrote it");

    private static string? Optional(JsonElement root, string name) =>
        root.TryGetProperty(name, out var value) ? value.GetString() : null;

    private static void WriteOptional(Utf8JsonWriter json, string name, string? value)
    {
        if (value is not null)
        {
            json.WriteString(name, value);
        }
    }

    private static string Write(Action<Utf8JsonWriter> write)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            write(json);
        }

        return Encoding.UTF8.GetString(buffer.ToArray());
    }
}

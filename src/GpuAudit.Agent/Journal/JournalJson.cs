using System.Text;
using System.Text.Json;
using GpuAudit.Core;
using GpuAudit.Core.Json;
using GpuAudit.Core.Policy;
using GpuAudit.Core.Summaries;

namespace GpuAudit.Agent.Journal;

/// <summary>The JSON columns of the journal (evidence lines, allowance), written and read without reflection.</summary>
internal static class JournalJson
{
    public static string WriteEvidence(IReadOnlyList<string> evidence) => JsonWriting.ToText(json => json.WriteStrings(null, evidence));

    public static List<string> ParseEvidence(string text)
    {
        using var document = JsonDocument.Parse(text);
        return document.RootElement.EnumerateArray().Select(e => e.GetString() ?? "").ToList();
    }

    public static string WriteAllowance(Allowance allowance) => JsonWriting.ToText(json =>
    {
        json.WriteStartObject();
        json.WriteStrings("rules", allowance.Rules.Select(r => r.Label()));
        json.WriteStringIfSet("job", allowance.Job);
        json.WriteStringIfSet("user", allowance.User);
        json.WriteStringIfSet("namespace", allowance.Namespace);
        json.WriteStringIfSet("executable", allowance.Executable);
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
}

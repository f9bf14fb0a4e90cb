using System.Text;
using System.Text.Json;
using GpuAudit.Core.Json;

namespace GpuAudit.Agent.Journal;

/// <summary>The JSON columns of the journal (evidence lines, allowance), written and read without reflection.</summary>
internal static class JournalJson
{
    /// <summary>
    /// The evidence column: the lines as a JSON array, or, when the violation has a run context, an
    /// object <c>{"evidence": [...], "context": [...]}</c>. The context rides in this column so the
    /// schema and the hash chain stay as they are, and a journal without context reads as before.
    /// </summary>
    public static string WriteEvidence(IReadOnlyList<string> evidence, IReadOnlyList<string> context) => JsonWriting.ToText(json =>
    {
        if (context.Count == 0)
        {
            json.WriteStrings(null, evidence);
            return;
        }

        json.WriteStartObject();
        json.WriteStrings("evidence", evidence);
        json.WriteStrings("context", context);
        json.WriteEndObject();
    });

    /// <summary>The evidence lines and the run context (empty when the column is a plain array).</summary>
    public static (List<string> Evidence, List<string> Context) ParseEvidence(string text)
    {
        using var document = JsonDocument.Parse(text);
        var root = document.RootElement;
        return root.ValueKind == JsonValueKind.Object
            ? (Strings(root.GetProperty("evidence")), root.TryGetProperty("context", out var context) ? Strings(context) : [])
            : (Strings(root), []);
    }

    private static List<string> Strings(JsonElement array) => array.EnumerateArray().Select(e => e.GetString() ?? "").ToList();

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

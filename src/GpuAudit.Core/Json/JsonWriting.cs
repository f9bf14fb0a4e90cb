using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace GpuAudit.Core.Json;

/// <summary>
/// What every hand-written JSON output (reports, inspections, verdicts, traces, journal columns)
/// shares on top of <see cref="Utf8JsonWriter"/>, which keeps them all NativeAOT-safe: null for a
/// missing value (never zero), string arrays, the options for text people read, rendering to a string.
/// </summary>
public static class JsonWriting
{
    /// <summary>URLs, paths and shell text left unescaped for reading ('+', '&lt;', '&amp;' as themselves); one line.</summary>
    public static JsonWriterOptions Readable { get; } = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary><see cref="Readable"/>, indented.</summary>
    public static JsonWriterOptions ReadableIndented { get; } = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping, Indented = true };

    /// <summary>The JSON text <paramref name="write"/> produces.</summary>
    public static string ToText(Action<Utf8JsonWriter> write, JsonWriterOptions options = default)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, options))
        {
            write(json);
        }

        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    public static void WriteStringOrNull(this Utf8JsonWriter json, string name, string? value)
    {
        if (value is null)
        {
            json.WriteNull(name);
        }
        else
        {
            json.WriteString(name, value);
        }
    }

    /// <summary>Writes the property only when there is a value (for objects whose readers treat absent as unset).</summary>
    public static void WriteStringIfSet(this Utf8JsonWriter json, string name, string? value)
    {
        if (value is not null)
        {
            json.WriteString(name, value);
        }
    }

    public static void WriteNumberOrNull(this Utf8JsonWriter json, string name, long? value)
    {
        if (value is { } v)
        {
            json.WriteNumber(name, v);
        }
        else
        {
            json.WriteNull(name);
        }
    }

    /// <summary>A number, or null when missing or not finite (JSON has no NaN or infinity).</summary>
    public static void WriteNumberOrNull(this Utf8JsonWriter json, string name, double? value)
    {
        if (value is { } v && double.IsFinite(v))
        {
            json.WriteNumber(name, v);
        }
        else
        {
            json.WriteNull(name);
        }
    }

    public static void WriteBooleanOrNull(this Utf8JsonWriter json, string name, bool? value)
    {
        if (value is { } v)
        {
            json.WriteBoolean(name, v);
        }
        else
        {
            json.WriteNull(name);
        }
    }

    /// <summary>A property holding an array of strings, or a bare array when <paramref name="name"/> is null.</summary>
    public static void WriteStrings(this Utf8JsonWriter json, string? name, IEnumerable<string> values)
    {
        if (name is null)
        {
            json.WriteStartArray();
        }
        else
        {
            json.WriteStartArray(name);
        }

        foreach (var value in values)
        {
            json.WriteStringValue(value);
        }

        json.WriteEndArray();
    }
}

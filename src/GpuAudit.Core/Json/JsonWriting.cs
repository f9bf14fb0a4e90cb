using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using GpuAudit.Core.Inspection;

namespace GpuAudit.Core.Json;

/// <summary>
/// What every hand-written JSON output (reports, inspections, verdicts, traces, journal columns)
/// shares on top of <see cref="Utf8JsonWriter"/>, which keeps them all NativeAOT-safe: null for a
/// missing value (never zero), string and object arrays, redacted text, JSON Lines records, the
/// options for text people read, rendering to a string.
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

    /// <summary>Like <see cref="WriteStringIfSet"/>: a field added to a format later is absent, not null, where unknown.</summary>
    public static void WriteNumberIfSet(this Utf8JsonWriter json, string name, long? value)
    {
        if (value is { } v)
        {
            json.WriteNumber(name, v);
        }
    }

    /// <summary>Like <see cref="WriteStringIfSet"/>: a field added to a format later is absent, not null, where unknown.</summary>
    public static void WriteBooleanIfSet(this Utf8JsonWriter json, string name, bool? value)
    {
        if (value is { } v)
        {
            json.WriteBoolean(name, v);
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

    /// <summary>Text a watched process controls, through <see cref="SecretRedactor"/> on its way out; null stays null.</summary>
    public static void WriteRedactedOrNull(this Utf8JsonWriter json, string name, string? value) =>
        json.WriteStringOrNull(name, SecretRedactor.RedactOrNull(value));

    /// <summary>A property holding an array of strings, or a bare array when <paramref name="name"/> is null.</summary>
    public static void WriteStrings(this Utf8JsonWriter json, string? name, IEnumerable<string> values)
    {
        StartArray(json, name);
        foreach (var value in values)
        {
            json.WriteStringValue(value);
        }

        json.WriteEndArray();
    }

    /// <summary>
    /// A property holding an array with one object per item, <paramref name="writeFields"/> writing
    /// each object's properties between its braces; a bare array when <paramref name="name"/> is null.
    /// </summary>
    public static void WriteObjects<T>(this Utf8JsonWriter json, string? name, IEnumerable<T> items, Action<Utf8JsonWriter, T> writeFields)
    {
        StartArray(json, name);
        foreach (var item in items)
        {
            json.WriteStartObject();
            writeFields(json, item);
            json.WriteEndObject();
        }

        json.WriteEndArray();
    }

    /// <summary>
    /// A property holding one object, <paramref name="writeFields"/> writing its properties between
    /// its braces; null when there is no value.
    /// </summary>
    public static void WriteObjectOrNull<T>(this Utf8JsonWriter json, string name, T? value, Action<Utf8JsonWriter, T> writeFields)
        where T : class
    {
        if (value is null)
        {
            json.WriteNull(name);
        }
        else
        {
            WriteObject(json, name, value, writeFields);
        }
    }

    /// <summary>Like <see cref="WriteObjectOrNull"/>, but absent rather than null when there is no value.</summary>
    public static void WriteObjectIfSet<T>(this Utf8JsonWriter json, string name, T? value, Action<Utf8JsonWriter, T> writeFields)
        where T : class
    {
        if (value is not null)
        {
            WriteObject(json, name, value, writeFields);
        }
    }

    /// <summary>Ends one JSON Lines record: the record's bytes, a newline, and the writer reset for the next record.</summary>
    public static void EndLine(this Utf8JsonWriter json, Stream output)
    {
        json.Flush();
        output.WriteByte((byte)'\n');
        json.Reset();
    }

    private static void WriteObject<T>(Utf8JsonWriter json, string name, T value, Action<Utf8JsonWriter, T> writeFields)
    {
        json.WriteStartObject(name);
        writeFields(json, value);
        json.WriteEndObject();
    }

    private static void StartArray(Utf8JsonWriter json, string? name)
    {
        if (name is null)
        {
            json.WriteStartArray();
        }
        else
        {
            json.WriteStartArray(name);
        }
    }
}

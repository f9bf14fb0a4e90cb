using System.Buffers;
using System.Text.Json;
using GpuAudit.Core.Samples;

namespace GpuAudit.Core.Trace;

/// <summary>
/// Streams trace format v1 (JSON Lines): the header on construction, then one
/// <see cref="TraceEntry"/> per <see cref="TryReadNext"/>. Unknown fields and unknown line kinds
/// are ignored (the format's forward-compatibility rule); anything else that does not fit
/// raises <see cref="TraceFormatException"/> naming the file and line, or is skipped with a
/// warning under <see cref="TraceReadOptions.SkipMalformed"/>.
/// </summary>
public sealed class TraceReader : IDisposable
{
    private readonly Stream _stream;
    private readonly TraceReadOptions _options;
    private readonly HashSet<int> _gpuIndexes = [];
    private byte[] _buffer = ArrayPool<byte>.Shared.Rent(64 * 1024);
    private int _start;
    private int _end;
    private bool _eof;
    private long _lineNumber;
    private double _lastSampleTime = double.NegativeInfinity;

    public TraceReader(Stream stream, string name, TraceReadOptions? options = null)
    {
        _stream = stream;
        Name = name;
        _options = options ?? TraceReadOptions.Strict;
        Header = ReadHeader();
        foreach (var gpu in Header.Gpus)
        {
            _gpuIndexes.Add(gpu.Index);
        }
    }

    /// <summary>The file name used in messages.</summary>
    public string Name { get; }

    public TraceHeader Header { get; }

    /// <summary>Opens a file; a missing or unreadable file is a <see cref="TraceFormatException"/> too.</summary>
    public static TraceReader Open(string path, TraceReadOptions? options = null)
    {
        FileStream stream;
        try
        {
            stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 1, FileOptions.SequentialScan);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Opening a directory fails as "access denied", which sends a user after permissions.
            throw new TraceFormatException(Directory.Exists(path) ? DirectoryGivenAsTrace(path) : $"{path}: cannot open trace: {e.Message}");
        }

        try
        {
            return new TraceReader(stream, path, options);
        }
        catch
        {
            stream.Dispose();
            throw;
        }
    }

    /// <summary>The message for a directory given where a trace file belongs.</summary>
    public static string DirectoryGivenAsTrace(string path) =>
        $"{path}: is a directory, not a trace file; pass the trace files in it, e.g. {Path.Combine(path, "*.jsonl")}";

    public bool TryReadNext(out TraceEntry entry)
    {
        while (NextLine(out var line))
        {
            if (IsBlank(line))
            {
                continue;
            }

            try
            {
                if (ParseEntry(line, out entry))
                {
                    return true;
                }
            }
            catch (Exception e) when (e is JsonException or TraceLineException or InvalidOperationException or FormatException)
            {
                var problem = Describe(e);
                if (!_options.SkipMalformed)
                {
                    throw new TraceFormatException(Name, _lineNumber, problem);
                }

                _options.Warn?.Invoke($"{Name}:{_lineNumber}: {problem} (line skipped)");
            }
        }

        entry = default;
        return false;
    }

    public RecordedTrace ReadToEnd()
    {
        var processes = new List<ProcessRecord>();
        var samples = new List<GpuSample>();
        while (TryReadNext(out var entry))
        {
            if (entry.Process is { } p)
            {
                processes.Add(p);
            }
            else if (entry.Sample is { } s)
            {
                samples.Add(s);
            }
        }

        return new RecordedTrace(Name, Header, processes, samples);
    }

    public void Dispose()
    {
        _stream.Dispose();
        if (_buffer.Length > 0)
        {
            ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = [];
        }
    }

    private TraceHeader ReadHeader()
    {
        while (NextLine(out var line))
        {
            if (IsBlank(line))
            {
                continue;
            }

            try
            {
                return TraceLineParser.ParseHeader(line);
            }
            catch (Exception e) when (e is JsonException or TraceLineException or InvalidOperationException or FormatException)
            {
                throw new TraceFormatException(Name, _lineNumber, Describe(e) + " (the first line must be a valid header)");
            }
        }

        throw new TraceFormatException(Name, Math.Max(1, _lineNumber), "empty trace: expected a header line {\"kind\": \"header\", \"format\": \"gpuaudit-trace\", \"version\": 1, ...}");
    }

    private bool ParseEntry(ReadOnlySpan<byte> line, out TraceEntry entry)
    {
        switch (TraceLineParser.ReadKind(line))
        {
            case "process":
                entry = new TraceEntry(TraceLineParser.ParseProcess(line), null);
                return true;
            case "sample":
                var sample = TraceLineParser.ParseSample(line);
                if (!_gpuIndexes.Contains(sample.Gpu))
                {
                    throw new TraceLineException($"sample for gpu {sample.Gpu}, which the header does not list");
                }

                if (sample.Time < _lastSampleTime)
                {
                    throw new TraceLineException($"sample time {sample.Time} is earlier than the previous sample ({_lastSampleTime}); samples must be in time order");
                }

                _lastSampleTime = sample.Time;
                entry = new TraceEntry(null, sample);
                return true;
            case "header":
                throw new TraceLineException("a second header line; a trace has exactly one, first");
            default:
                // Unknown kinds come from newer writers: ignored by the format's rules.
                entry = default;
                return false;
        }
    }

    private static string Describe(Exception e) => e switch
    {
        JsonException j => "not valid JSON: " + TrimJsonMessage(j.Message),
        _ => e.Message,
    };

    private static string TrimJsonMessage(string message)
    {
        // System.Text.Json appends "LineNumber: 0 | BytePositionInLine: N." – keep only the byte position.
        var cut = message.IndexOf(" LineNumber:", StringComparison.Ordinal);
        var pos = message.IndexOf("BytePositionInLine:", StringComparison.Ordinal);
        if (cut < 0)
        {
            return message;
        }

        var column = pos >= 0 ? " (at byte " + message[(pos + "BytePositionInLine:".Length)..].Trim().TrimEnd('.') + ")" : string.Empty;
        return message[..cut].TrimEnd() + column;
    }

    private static bool IsBlank(ReadOnlySpan<byte> line)
    {
        foreach (var b in line)
        {
            if (b is not ((byte)' ' or (byte)'\t' or (byte)'\r'))
            {
                return false;
            }
        }

        return true;
    }

    private bool NextLine(out ReadOnlySpan<byte> line)
    {
        while (true)
        {
            var newline = _buffer.AsSpan(_start, _end - _start).IndexOf((byte)'\n');
            if (newline >= 0)
            {
                line = _buffer.AsSpan(_start, newline);
                _start += newline + 1;
                _lineNumber++;
                return true;
            }

            if (_eof)
            {
                if (_start < _end)
                {
                    line = _buffer.AsSpan(_start, _end - _start);
                    _start = _end;
                    _lineNumber++;
                    return true;
                }

                line = default;
                return false;
            }

            Fill();
        }
    }

    private void Fill()
    {
        if (_start > 0)
        {
            Buffer.BlockCopy(_buffer, _start, _buffer, 0, _end - _start);
            _end -= _start;
            _start = 0;
        }

        if (_end == _buffer.Length)
        {
            var bigger = ArrayPool<byte>.Shared.Rent(_buffer.Length * 2);
            Buffer.BlockCopy(_buffer, 0, bigger, 0, _end);
            ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = bigger;
        }

        var read = _stream.Read(_buffer, _end, _buffer.Length - _end);
        if (read == 0)
        {
            _eof = true;
        }

        _end += read;
    }
}

/// <summary>A line that is valid JSON but not a valid v1 record.</summary>
internal sealed class TraceLineException(string message) : Exception(message);

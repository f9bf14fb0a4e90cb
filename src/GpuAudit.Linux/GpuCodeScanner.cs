using System.Buffers;
using GpuAudit.Core.Inspection;

namespace GpuAudit.Linux;

/// <summary>
/// Searches a live process's memory for GPU code through /proc/PID/mem, read-only (the process is
/// never stopped). Anonymous memory comes first: that is where the driver keeps the modules a
/// process loads and where NVRTC output lands, so a hash kernel is found even in a process whose
/// file-backed PyTorch libraries hold gigabytes of fatbins. Each scan stops at its budget and
/// resumes next time; regions already scanned are reused: file-backed ones by (path, inode,
/// offset, length) across all processes, anonymous ones by their bounds until the rescan interval.
/// Not thread-safe: run it on one background thread (<see cref="GpuCodeScanService"/>).
/// </summary>
public sealed class GpuCodeScanner(string procRoot = ProcFileSystem.DefaultRoot, GpuCodeScanOptions? options = null, TimeProvider? time = null)
{
    private readonly ProcFileSystem proc = new(procRoot);
    private readonly GpuCodeScanOptions options = options ?? new GpuCodeScanOptions();
    private readonly TimeProvider time = time ?? TimeProvider.System;
    private readonly Dictionary<FileRegionKey, RegionProgress> fileRegions = [];
    private readonly Dictionary<int, Dictionary<(ulong Start, ulong End), RegionProgress>> anonymousRegions = [];
    private readonly List<GpuCodeCandidate> candidates = [];
    private long minuteStart;
    private TimeSpan spentThisMinute;

    /// <summary>Scans what the budget allows of <paramref name="pid"/>; null when the process is gone.</summary>
    public GpuCodeScanResult? Scan(int pid, CancellationToken cancellationToken = default)
    {
        var unreadable = new List<string>();
        if (proc.ReadText(pid, "maps", unreadable) is not { } mapsText)
        {
            return proc.Exists(pid) ? new GpuCodeScanResult { Pid = pid, Unreadable = unreadable } : null;
        }

        var started = time.GetTimestamp();
        RollMinute(started);
        var regions = MemoryRegion.ParseMaps(mapsText)
            .Where(r => r.Readable && !r.Special && r.Length > 0 && r.Path?.StartsWith("/dev/", StringComparison.Ordinal) != true)
            .OrderBy(r => r.FileBacked)
            .ThenBy(r => r.Start)
            .ToList();
        var anonymous = anonymousRegions.TryGetValue(pid, out var known) ? known : anonymousRegions[pid] = [];
        var live = new HashSet<(ulong, ulong)>();
        var images = new List<GpuCodeImage>();
        long bytes = 0;
        var cached = 0;
        var pending = 0;

        using var memory = OpenMemory(pid, unreadable);
        foreach (var region in regions)
        {
            var progress = Progress(region, anonymous, live);
            if (progress.Complete)
            {
                cached++;
            }
            else if (memory is null || OutOfBudget(started) || cancellationToken.IsCancellationRequested)
            {
                pending++;
            }
            else
            {
                bytes += ScanRegion(memory, region, progress, started, cancellationToken);
                pending += progress.Complete ? 0 : 1;
            }

            images.AddRange(progress.Images.Select(i => i with { Address = i.Address + (long)region.Start }));
        }

        // Forget anonymous regions the process has unmapped.
        foreach (var gone in anonymous.Keys.Where(k => !live.Contains(k)).ToList())
        {
            anonymous.Remove(gone);
        }

        var elapsed = time.GetElapsedTime(started);
        spentThisMinute += elapsed;
        return new GpuCodeScanResult
        {
            Pid = pid,
            Images = images,
            BytesScanned = bytes,
            RegionsCached = cached,
            RegionsPending = pending,
            Elapsed = elapsed,
            Unreadable = unreadable,
        };
    }

    /// <summary>Drops what is cached about an exited process's anonymous memory.</summary>
    public void Forget(int pid) => anonymousRegions.Remove(pid);

    /// <summary>How long until the per-minute budget allows scanning again (zero when it does now).</summary>
    public TimeSpan BudgetWait()
    {
        var now = time.GetTimestamp();
        RollMinute(now);
        return spentThisMinute < options.PerMinuteBudget ? TimeSpan.Zero : TimeSpan.FromMinutes(1) - time.GetElapsedTime(minuteStart, now);
    }

    private RegionProgress Progress(MemoryRegion region, Dictionary<(ulong, ulong), RegionProgress> anonymous, HashSet<(ulong, ulong)> live)
    {
        var length = Math.Min(region.Length, (ulong)options.MaxRegionBytes);
        if (region.FileBacked)
        {
            var key = new FileRegionKey(region.Path!, region.Inode, region.Offset, region.Length);
            return fileRegions.TryGetValue(key, out var file) ? file : fileRegions[key] = new RegionProgress(length, null);
        }

        var bounds = (region.Start, region.End);
        live.Add(bounds);
        if (anonymous.TryGetValue(bounds, out var progress)
            && (!progress.Complete || time.GetUtcNow() - progress.CompletedAt < options.AnonymousRescanInterval))
        {
            return progress;
        }

        return anonymous[bounds] = new RegionProgress(length, null);
    }

    private long ScanRegion(SafeFileHandleReader memory, MemoryRegion region, RegionProgress progress, long started, CancellationToken cancellationToken)
    {
        var overlap = GpuCodeSearch.CandidateHeaderBytes;
        var buffer = ArrayPool<byte>.Shared.Rent(options.ChunkBytes + overlap);
        long bytes = 0;
        try
        {
            while (!progress.Complete && !OutOfBudget(started) && !cancellationToken.IsCancellationRequested)
            {
                var offset = progress.ScannedUpTo;
                var want = (int)Math.Min((ulong)(options.ChunkBytes + overlap), progress.Length - offset);
                var read = memory.Read(buffer.AsSpan(0, want), (long)(region.Start + offset));
                if (read <= 0)
                {
                    // Unreadable pages (guard pages, racing munmap): the rest of the region is skipped.
                    progress.Finish(time.GetUtcNow());
                    break;
                }

                bytes += read;
                var last = offset + (ulong)read >= progress.Length;
                var limit = last ? read : Math.Min(read, options.ChunkBytes);
                SearchChunk(memory, buffer.AsSpan(0, read), limit, region.Start + offset, offset, progress);
                progress.Advance((ulong)limit, time.GetUtcNow());
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }

        return bytes;
    }

    private void SearchChunk(SafeFileHandleReader memory, ReadOnlySpan<byte> chunk, int limit, ulong chunkAddress, ulong chunkOffset, RegionProgress progress)
    {
        candidates.Clear();
        GpuCodeSearch.FindCandidates(chunk, limit, candidates);
        foreach (var candidate in candidates)
        {
            var relative = chunkOffset + (ulong)candidate.Offset;
            if (relative < progress.SkipUntil)
            {
                continue;
            }

            var claimed = GpuCodeSearch.ClaimedLength(candidate.Kind, chunk[candidate.Offset..]);
            var length = (int)Math.Min((ulong)Math.Max(claimed, 0), progress.Length - relative);
            if (length <= 0)
            {
                continue;
            }

            var image = candidate.Offset + length <= chunk.Length
                ? GpuCodeSearch.Analyze(candidate.Kind, chunk.Slice(candidate.Offset, length), (long)relative)
                : AnalyzeLarge(memory, candidate.Kind, chunkAddress + (ulong)candidate.Offset, length, (long)relative);
            if (image is not null)
            {
                progress.Images.Add(image);
                progress.SkipUntil = relative + (ulong)Math.Max(1, image.Length);
            }
        }
    }

    // An image that runs past the chunk is read whole on its own (bounded by the parsers' caps).
    private static GpuCodeImage? AnalyzeLarge(SafeFileHandleReader memory, GpuCodeKind kind, ulong address, int length, long relative)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(length);
        try
        {
            var read = memory.Read(buffer.AsSpan(0, length), (long)address);
            return read <= 0 ? null : GpuCodeSearch.Analyze(kind, buffer.AsSpan(0, read), relative);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private bool OutOfBudget(long started)
    {
        var elapsed = time.GetElapsedTime(started);
        return elapsed >= options.PerScanBudget || spentThisMinute + elapsed >= options.PerMinuteBudget;
    }

    private void RollMinute(long now)
    {
        if (minuteStart == 0 || time.GetElapsedTime(minuteStart, now) >= TimeSpan.FromMinutes(1))
        {
            minuteStart = now;
            spentThisMinute = TimeSpan.Zero;
        }
    }

    private SafeFileHandleReader? OpenMemory(int pid, List<string> unreadable)
    {
        // Regular file, non-blocking open: a FIFO in place of mem (a fixture tree, another procfs) cannot hang the scan.
        var path = proc.PidPath(pid, "mem");
        var handle = BoundedFile.OpenRegular(path, out var outcome);
        if (BoundedFile.Problem(path, outcome) is { } problem)
        {
            unreadable.Add(problem);
        }

        return handle is null ? null : new SafeFileHandleReader(handle);
    }

    private readonly record struct FileRegionKey(string Path, ulong Inode, ulong Offset, ulong Length);

    /// <summary>How far a region has been scanned, and the images found in it (addresses relative to its start).</summary>
    private sealed class RegionProgress(ulong length, DateTimeOffset? completedAt)
    {
        public ulong Length { get; } = length;

        public ulong ScannedUpTo { get; private set; }

        /// <summary>Candidates before this offset lie inside an image already analysed.</summary>
        public ulong SkipUntil { get; set; }

        public List<GpuCodeImage> Images { get; } = [];

        public DateTimeOffset? CompletedAt { get; private set; } = completedAt;

        public bool Complete => ScannedUpTo >= Length;

        public void Advance(ulong bytes, DateTimeOffset now)
        {
            ScannedUpTo += bytes;
            if (Complete)
            {
                CompletedAt = now;
            }
        }

        public void Finish(DateTimeOffset now)
        {
            ScannedUpTo = Length;
            CompletedAt = now;
        }
    }
}

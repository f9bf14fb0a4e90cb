using System.Buffers;
using System.IO.Hashing;
using GpuAudit.Core.Inspection;

namespace GpuAudit.Linux;

/// <summary>
/// Searches a live process's memory for GPU code through /proc/PID/mem, read-only (the process is
/// never stopped). Anonymous memory comes first: that is where the driver keeps the modules a
/// process loads and where NVRTC output lands, so a hash kernel is found even in a process whose
/// file-backed PyTorch libraries hold gigabytes of fatbins. Each scan stops at its CPU-time budget
/// and resumes next time; regions already scanned are reused: file-backed ones by (path, inode,
/// offset, length) across all processes, anonymous ones by their bounds until the rescan interval.
/// What a process holds cannot grow the scanner: buffers stay within
/// <see cref="GpuCodeScanOptions.WorkingSetBytes"/>, identical images are analysed once and kept
/// once (XxHash128 of their bytes), and kept images are capped per region and in all.
/// Not thread-safe: run it on one background thread (<see cref="GpuCodeScanService"/>).
/// </summary>
public sealed class GpuCodeScanner
{
    private readonly ProcFileSystem proc;
    private readonly GpuCodeScanOptions options;
    private readonly TimeProvider time;
    private readonly Dictionary<FileRegionKey, RegionProgress> fileRegions = [];
    private readonly Dictionary<int, Dictionary<(ulong Start, ulong End), RegionProgress>> anonymousRegions = [];
    private readonly Dictionary<UInt128, GpuCodeImage> analysed = [];
    private readonly List<GpuCodeCandidate> candidates = [];
    private readonly GpuCodeScratch scratch;
    private readonly ImageCount kept = new();
    private byte[] imageBuffer = [];
    private long minuteStart;
    private long lastFilePrune;
    private TimeSpan spentThisMinute;

    public GpuCodeScanner(string procRoot = ProcFileSystem.DefaultRoot, GpuCodeScanOptions? options = null, TimeProvider? time = null)
    {
        proc = new ProcFileSystem(procRoot);
        this.options = options ?? new GpuCodeScanOptions();
        this.options.Validate();
        this.time = time ?? TimeProvider.System;
        scratch = new GpuCodeScratch(this.options.MaxDecodedEntryBytes);
    }

    /// <summary>Distinct images the scanner keeps now, over all regions and processes (bounded by the options).</summary>
    public int KeptImages => kept.Value;

    /// <summary>Scans what the budget allows of <paramref name="pid"/>; null when the process is gone.</summary>
    public GpuCodeScanResult? Scan(int pid, CancellationToken cancellationToken = default)
    {
        var unreadable = new List<string>();
        if (proc.ReadText(pid, "maps", unreadable) is not { } mapsText)
        {
            return proc.Exists(pid) ? new GpuCodeScanResult { Pid = pid, Unreadable = unreadable } : null;
        }

        var started = ThreadCpuClock.Now();
        RollMinute(time.GetTimestamp());
        var regions = MemoryRegion.ParseMaps(mapsText)
            .Where(r => r.Readable && !r.Special && r.Length > 0 && r.Path?.StartsWith("/dev/", StringComparison.Ordinal) != true)
            .OrderBy(r => r.FileBacked)
            .ThenBy(r => r.Start)
            .ToList();
        var anonymous = anonymousRegions.TryGetValue(pid, out var known) ? known : anonymousRegions[pid] = [];
        var live = new HashSet<(ulong, ulong)>();
        var found = new List<(RegionProgress Region, ulong Start)>();
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
                bytes += ScanRegion(memory, region.Start, progress, started, cancellationToken);
                pending += progress.Complete ? 0 : 1;
            }

            found.Add((progress, region.Start));
        }

        // Forget anonymous regions the process has unmapped.
        foreach (var gone in anonymous.Keys.Where(k => !live.Contains(k)).ToList())
        {
            anonymous[gone].Release(kept);
            anonymous.Remove(gone);
        }

        PruneFileRegions();
        var elapsed = ThreadCpuClock.Now() - started;
        spentThisMinute += elapsed;
        return Result(pid, found, bytes, cached, pending, elapsed, unreadable);
    }

    /// <summary>
    /// Scans exactly <paramref name="length"/> bytes of <paramref name="pid"/>'s memory from
    /// <paramref name="address"/> (for instance an image a process handed to <c>cuModuleLoadData</c>),
    /// with the same caps and per-scan budget as <see cref="Scan"/>, nothing cached. Images are
    /// found wherever they start inside the range (one that starts at <paramref name="address"/>
    /// is read whole even when the range is shorter). Null when the process is gone.
    /// </summary>
    public GpuCodeScanResult? ScanRange(int pid, ulong address, ulong length, CancellationToken cancellationToken = default)
    {
        var unreadable = new List<string>();
        if (!proc.Exists(pid))
        {
            return null;
        }

        var started = ThreadCpuClock.Now();
        RollMinute(time.GetTimestamp());
        using var memory = OpenMemory(pid, unreadable);
        var progress = new RegionProgress(Math.Min(length, (ulong)options.MaxRegionBytes), null, untracked: true);
        var bytes = memory is null ? 0 : ScanRegion(memory, address, progress, started, cancellationToken);
        var elapsed = ThreadCpuClock.Now() - started;
        spentThisMinute += elapsed;
        return Result(pid, [(progress, address)], bytes, 0, progress.Complete ? 0 : 1, elapsed, unreadable);
    }

    /// <summary>Drops what is cached about an exited process's anonymous memory.</summary>
    public void Forget(int pid)
    {
        if (anonymousRegions.Remove(pid, out var regions))
        {
            foreach (var region in regions.Values)
            {
                region.Release(kept);
            }
        }
    }

    /// <summary>How long until the per-minute budget allows scanning again (zero when it does now).</summary>
    public TimeSpan BudgetWait()
    {
        var now = time.GetTimestamp();
        RollMinute(now);
        return spentThisMinute < options.PerMinuteBudget ? TimeSpan.Zero : TimeSpan.FromMinutes(1) - time.GetElapsedTime(minuteStart, now);
    }

    private static GpuCodeScanResult Result(int pid, List<(RegionProgress Region, ulong Start)> found, long bytes, int cached, int pending, TimeSpan elapsed, List<string> unreadable)
    {
        // One entry per distinct image in the whole process, however many copies it holds.
        var images = new Dictionary<UInt128, GpuCodeImage>();
        var order = new List<UInt128>();
        var notKept = 0;
        var skipped = 0;
        foreach (var (region, start) in found)
        {
            notKept += region.NotKept;
            skipped += region.NestedSkipped;
            foreach (var image in region.Images)
            {
                if (images.TryGetValue(image.Hash, out var first))
                {
                    images[image.Hash] = first with { Copies = first.Copies + image.Copies };
                }
                else
                {
                    images[image.Hash] = image.Image with { Address = image.Image.Address + (long)start, Copies = image.Copies };
                    order.Add(image.Hash);
                }
            }
        }

        return new GpuCodeScanResult
        {
            Pid = pid,
            Images = order.Select(h => images[h]).ToList(),
            ImagesNotKept = notKept,
            NestedImagesSkipped = skipped,
            BytesScanned = bytes,
            RegionsCached = cached,
            RegionsPending = pending,
            Elapsed = elapsed,
            Unreadable = unreadable,
        };
    }

    private RegionProgress Progress(MemoryRegion region, Dictionary<(ulong, ulong), RegionProgress> anonymous, HashSet<(ulong, ulong)> live)
    {
        var length = Math.Min(region.Length, (ulong)options.MaxRegionBytes);
        if (region.FileBacked)
        {
            var key = new FileRegionKey(region.Path!, region.Inode, region.Offset, region.Length);
            if (!fileRegions.TryGetValue(key, out var file))
            {
                fileRegions[key] = file = new RegionProgress(length, null);
            }

            file.LastSeen = time.GetTimestamp();
            return file;
        }

        var bounds = (region.Start, region.End);
        live.Add(bounds);
        if (anonymous.TryGetValue(bounds, out var progress))
        {
            if (!progress.Complete || time.GetUtcNow() - progress.CompletedAt < options.AnonymousRescanInterval)
            {
                return progress;
            }

            progress.Release(kept);
        }

        return anonymous[bounds] = new RegionProgress(length, null);
    }

    // File regions that no scanned process has mapped for a while are dropped (checked once a minute).
    private void PruneFileRegions()
    {
        var now = time.GetTimestamp();
        if (lastFilePrune != 0 && time.GetElapsedTime(lastFilePrune, now) < TimeSpan.FromMinutes(1))
        {
            return;
        }

        lastFilePrune = now;
        foreach (var (key, region) in fileRegions.Where(f => time.GetElapsedTime(f.Value.LastSeen, now) > options.FileRegionRetention).ToList())
        {
            region.Release(kept);
            fileRegions.Remove(key);
        }
    }

    private long ScanRegion(SafeFileHandleReader memory, ulong regionStart, RegionProgress progress, TimeSpan started, CancellationToken cancellationToken)
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
                var read = memory.Read(buffer.AsSpan(0, want), (long)(regionStart + offset));
                if (read <= 0)
                {
                    // Unreadable pages (guard pages, racing munmap): the rest of the region is skipped.
                    progress.Finish(time.GetUtcNow());
                    break;
                }

                bytes += read;
                var last = offset + (ulong)read >= progress.Length;
                var limit = last ? read : Math.Min(read, options.ChunkBytes);
                SearchChunk(memory, buffer.AsSpan(0, read), limit, regionStart, offset, progress);
                progress.Advance((ulong)limit, time.GetUtcNow());
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }

        return bytes;
    }

    private void SearchChunk(SafeFileHandleReader memory, ReadOnlySpan<byte> chunk, int limit, ulong regionStart, ulong chunkOffset, RegionProgress progress)
    {
        candidates.Clear();
        GpuCodeSearch.FindCandidates(chunk, limit, candidates);
        foreach (var candidate in candidates)
        {
            var relative = chunkOffset + (ulong)candidate.Offset;
            if (progress.Covers(candidate.Kind, relative))
            {
                // Part of an image already analysed: a fatbin's payloads, a PTX module's .entry
                // lines, a cubin whose bytes an enclosing image's search covered.
                continue;
            }

            if (candidate.Kind == GpuCodeKind.Fatbin && relative < progress.ElfCoveredUntil && !progress.HasNestedWork)
            {
                // A fatbin inside another image's extent (only crafted memory nests them) once the
                // region's budget for such work is spent: counted, not analysed.
                progress.NestedSkipped++;
                continue;
            }

            var claimed = GpuCodeSearch.ClaimedLength(candidate.Kind, chunk[candidate.Offset..]);
            // A region's images end with the region; an exact range's may run past its end.
            var room = progress.Untracked ? (ulong)options.MaxImageBytes : progress.Length - relative;
            var length = (int)Math.Min((ulong)Math.Clamp(claimed, 0, options.MaxImageBytes), room);
            if (length <= 0)
            {
                continue;
            }

            var address = (long)relative;
            var bytes = candidate.Offset + length <= chunk.Length
                ? chunk.Slice(candidate.Offset, length)
                : ReadImage(memory, regionStart + relative, length, progress);
            if (bytes.IsEmpty)
            {
                continue;
            }

            Analyse(candidate.Kind, bytes, address, progress);
        }
    }

    private void Analyse(GpuCodeKind kind, ReadOnlySpan<byte> bytes, long address, RegionProgress progress)
    {
        var extent = kind == GpuCodeKind.Ptx ? PtxText.BodyFrom(bytes, 0) : bytes;
        if (kind == GpuCodeKind.Ptx)
        {
            // One PTX text, however many .entry lines it has, is one image; text without a kernel is none.
            progress.PtxCoveredUntil = Math.Max(progress.PtxCoveredUntil, (ulong)address + (ulong)extent.Length);
        }

        var hash = XxHash128.HashToUInt128(extent);
        scratch.SearchedUpTo = progress.SearchedUpTo;
        scratch.DecodeBudget = progress.DecodeBudget;
        var fresh = scratch.SearchedUpTo <= address;
        GpuCodeImage? image;
        if (fresh && analysed.TryGetValue(hash, out var known))
        {
            // Identical bytes were analysed before (another copy, another process): not again.
            image = known with { Address = address };
            scratch.SearchedUpTo = Math.Max(scratch.SearchedUpTo, address + image.Length);
        }
        else
        {
            image = GpuCodeSearch.Analyze(kind, bytes, address, scratch);
            // Only complete analyses are reused: one whose entries this region's budget left undecoded is not.
            if (image is not null && fresh && image.UndecodedEntries == 0)
            {
                if (analysed.Count >= options.MaxKeptImages)
                {
                    analysed.Clear();
                }

                analysed[hash] = image with { Address = 0 };
            }
        }

        progress.SearchedUpTo = scratch.SearchedUpTo;
        progress.DecodeBudget = scratch.DecodeBudget;
        if (image is null)
        {
            return;
        }

        var end = (ulong)(address + image.Length);
        if (kind == GpuCodeKind.Fatbin)
        {
            foreach (var payload in GpuCodeSearch.PlainPayloads(bytes))
            {
                if (payload.Kind == FatbinEntryKind.Ptx)
                {
                    progress.CoverPtx((ulong)address + (ulong)payload.PayloadOffset, (ulong)(address + payload.PayloadOffset + payload.PayloadLength));
                }
            }
        }

        if (kind != GpuCodeKind.Ptx)
        {
            progress.ElfCoveredUntil = Math.Max(progress.ElfCoveredUntil, end);
        }

        progress.Keep(hash, image, kept, options);
    }

    // An image that runs past the chunk is read whole on its own, into the scanner's image buffer
    // (grown on demand up to MaxImageBytes). Nested reads count against the region's work budget.
    private ReadOnlySpan<byte> ReadImage(SafeFileHandleReader memory, ulong address, int length, RegionProgress progress)
    {
        progress.ReadWork -= length;
        if (imageBuffer.Length < length)
        {
            imageBuffer = GC.AllocateUninitializedArray<byte>((int)Math.Min(options.MaxImageBytes, Math.Max(length, imageBuffer.Length * 2L)));
        }

        var read = memory.Read(imageBuffer.AsSpan(0, length), (long)address);
        return read <= 0 ? [] : imageBuffer.AsSpan(0, read);
    }

    private bool OutOfBudget(TimeSpan started)
    {
        var elapsed = ThreadCpuClock.Now() - started;
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

    /// <summary>Distinct images kept by all regions together: plain ones, and those carrying evidence (each with its own cap).</summary>
    private sealed class ImageCount
    {
        public int Plain { get; set; }

        public int Evidence { get; set; }

        public int Value => Plain + Evidence;
    }

    /// <summary>One distinct image of a region: its content hash, what it holds, how many copies the region has.</summary>
    private sealed class KeptImage(UInt128 hash, GpuCodeImage image)
    {
        public UInt128 Hash { get; } = hash;

        public GpuCodeImage Image { get; } = image;

        public int Copies { get; set; } = 1;
    }

    /// <summary>How far a region has been scanned, and the images found in it (addresses relative to its start).</summary>
    private sealed class RegionProgress(ulong length, DateTimeOffset? completedAt, bool untracked = false)
    {
        private readonly Dictionary<UInt128, KeptImage> byHash = [];
        private readonly Queue<(ulong Start, ulong End)> ptxPayloads = new();
        private int plainImages;
        private int evidenceImages;

        public ulong Length { get; } = length;

        /// <summary>An exact range (<see cref="ScanRange"/>): not cached, not counted in the scanner's kept images.</summary>
        public bool Untracked { get; } = untracked;

        public ulong ScannedUpTo { get; private set; }

        /// <summary>Cubin and fatbin candidates before this offset lie inside an image whose bytes were searched.</summary>
        public ulong ElfCoveredUntil { get; set; }

        /// <summary>PTX candidates before this offset belong to a PTX text already analysed.</summary>
        public ulong PtxCoveredUntil { get; set; }

        /// <summary>Bytes compressed entries in this region may still decode to: crafted entries cannot make a region cost more than a few times its size.</summary>
        public long DecodeBudget { get; set; } = (4 * (long)length) + (64L << 20);

        /// <summary>Bytes of images read beyond the chunk this region may still cost (nested, crafted images claim overlapping extents).</summary>
        public long ReadWork { get; set; } = (4 * (long)length) + (64L << 20);

        public bool HasNestedWork => ReadWork > 0 && DecodeBudget > 0;

        /// <summary>Offset up to which the region's raw bytes were searched for hash constants.</summary>
        public long SearchedUpTo { get; set; } = long.MinValue;

        public int NestedSkipped { get; set; }

        public List<KeptImage> Images { get; } = [];

        /// <summary>Distinct images over the caps: counted, not kept.</summary>
        public int NotKept { get; private set; }

        public long LastSeen { get; set; }

        public DateTimeOffset? CompletedAt { get; private set; } = completedAt;

        public bool Complete => ScannedUpTo >= Length;

        public bool Covers(GpuCodeKind kind, ulong offset)
        {
            if (kind == GpuCodeKind.Cubin)
            {
                return offset < ElfCoveredUntil;
            }

            if (kind != GpuCodeKind.Ptx)
            {
                return false;
            }

            while (ptxPayloads.Count > 0 && ptxPayloads.Peek().End <= offset)
            {
                ptxPayloads.Dequeue();
            }

            return offset < PtxCoveredUntil || (ptxPayloads.Count > 0 && ptxPayloads.Peek().Start <= offset);
        }

        public void CoverPtx(ulong start, ulong end)
        {
            if (ptxPayloads.Count < 4096)
            {
                ptxPayloads.Enqueue((start, end));
            }
        }

        public void Keep(UInt128 hash, GpuCodeImage image, ImageCount kept, GpuCodeScanOptions options)
        {
            if (byHash.TryGetValue(hash, out var copy))
            {
                copy.Copies++;
                return;
            }

            var evidence = image.HashHits.Count > 0 || image.Kernels.Any(MinerSignatures.IsMinerKernel);
            var here = evidence ? evidenceImages : plainImages;
            var everywhere = evidence ? kept.Evidence : kept.Plain;
            if (here >= options.MaxImagesPerRegion || (!Untracked && everywhere >= options.MaxKeptImages))
            {
                NotKept++;
                return;
            }

            var entry = new KeptImage(hash, image);
            byHash[hash] = entry;
            Images.Add(entry);
            Count(kept, evidence, 1);
        }

        public void Release(ImageCount kept)
        {
            Count(kept, evidence: false, -plainImages);
            Count(kept, evidence: true, -evidenceImages);
            Images.Clear();
            byHash.Clear();
        }

        private void Count(ImageCount kept, bool evidence, int change)
        {
            if (evidence)
            {
                evidenceImages += change;
                kept.Evidence += Untracked ? 0 : change;
            }
            else
            {
                plainImages += change;
                kept.Plain += Untracked ? 0 : change;
            }
        }

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

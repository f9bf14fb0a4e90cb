using System.Runtime.InteropServices;

namespace GpuAudit.Linux;

/// <summary>
/// CPU time (user + system) consumed by the calling thread, from <c>clock_gettime(CLOCK_THREAD_CPUTIME_ID)</c>.
/// The scanner's budgets are CPU time, not wall time: a scan that waits on a loaded machine costs
/// nothing, and the pread()s of /proc/PID/mem (system time) are counted.
/// </summary>
internal static partial class ThreadCpuClock
{
    private const int ClockThreadCpuTime = 3;

    public static TimeSpan Now()
    {
        if (clock_gettime(ClockThreadCpuTime, out var now) != 0)
        {
            return TimeSpan.Zero;
        }

        return TimeSpan.FromTicks((now.Seconds * TimeSpan.TicksPerSecond) + (now.Nanoseconds / 100));
    }

    // glibc's soname: "libc" alone may resolve to the libc.so linker script where libc6-dev is installed.
    // The agent runs beside NVIDIA's driver, which needs glibc.
    [LibraryImport("libc.so.6", EntryPoint = "clock_gettime")]
    private static partial int clock_gettime(int clockId, out Timespec time);

    [StructLayout(LayoutKind.Sequential)]
    private struct Timespec
    {
        public long Seconds;
        public long Nanoseconds;
    }
}

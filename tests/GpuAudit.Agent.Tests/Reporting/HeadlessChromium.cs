using System.Diagnostics;

namespace GpuAudit.Agent.Tests.Reporting;

/// <summary>
/// Drives the Debian <c>chromium</c> package headless: loads a local page, returns the DOM after
/// scripts ran and what the browser logged, and takes a screenshot. No network, no profile reuse.
/// </summary>
internal static class HeadlessChromium
{
    public const string Package = "chromium";

    public static string Executable { get; } = new[] { "/usr/bin/chromium", "/usr/bin/chromium-browser" }.FirstOrDefault(File.Exists)
        ?? throw new InvalidOperationException($"headless report tests need Chromium: apt-get install -y {Package}");

    /// <summary>The DOM of <paramref name="page"/> after load, and the browser's log (console messages included).</summary>
    public static (string Dom, string Log) DumpDom(string page) => Run(page, "--dump-dom");

    public static string Screenshot(string page, string png) => Run(page, "--screenshot=" + png, "--window-size=1200,900").Log;

    private static (string Stdout, string Log) Run(string page, params string[] extra)
    {
        var profile = Directory.CreateTempSubdirectory("gpuaudit-chromium-").FullName;
        try
        {
            var start = new ProcessStartInfo(Executable) { RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (var arg in (string[])["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--enable-logging=stderr", "--v=0", "--user-data-dir=" + profile, .. extra, new Uri(page).AbsoluteUri])
            {
                start.ArgumentList.Add(arg);
            }

            using var process = Process.Start(start)!;
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            if (!process.WaitForExit(TimeSpan.FromMinutes(2)))
            {
                process.Kill(entireProcessTree: true);
                throw new TimeoutException("chromium did not finish loading " + page);
            }

            Assert.True(process.ExitCode == 0, "chromium failed: " + stderr.Result);
            return (stdout.Result, stderr.Result);
        }
        finally
        {
            Directory.Delete(profile, recursive: true);
        }
    }
}
